export * from "./headers";
export * from "./memory";
export * from "./store";
export * from "./tiers";
export * from "./plan";
export * from "./problems";

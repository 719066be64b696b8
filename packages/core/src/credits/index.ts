export * from "./store";
export * from "./memory";
export * from "./usage";
export * from "./problems";

export * from "./canonical-json";
export * from "./fingerprint";
export * from "./key";
export * from "./memory";
export * from "./replay";
export * from "./store";
export * from "./problems";

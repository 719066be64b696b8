export * from "./admission";
export * from "./pipeline";

export * from "./body";
export * from "./gate";

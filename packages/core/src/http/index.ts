export * from "./body";
export * from "./gate";
export * from "./client-errors";
export * from "./json-body";

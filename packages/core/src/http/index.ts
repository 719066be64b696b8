export * from "./body";
export * from "./gate";
export * from "./client-errors";
export * from "./headers";
export * from "./json-body";
export * from "./node-response";

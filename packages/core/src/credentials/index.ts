export * from "./key-cache";
export * from "./key-store";
export * from "./oauth";
export * from "./principal";
export * from "./request";
export * from "./transport";

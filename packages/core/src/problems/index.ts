export * from "./catalogue";
export * from "./challenge";
export * from "./common";
export * from "./problem";

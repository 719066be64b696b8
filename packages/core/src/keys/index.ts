export * from "./api-key";
export * from "./base62";
export * from "./crc32";
export * from "./digest";
export * from "./problems";

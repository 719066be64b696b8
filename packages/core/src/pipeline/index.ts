export * from "./admission";
export * from "./decision";
export * from "./options";
export * from "./pipeline";
export * from "./request";
export { omitMembers, type Reservation } from "./settle";
export * from "./events";

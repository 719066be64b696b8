export * from "./authenticate";
export * from "./key-cache";
export * from "./key-store";
export * from "./oauth";
export * from "./principal";
// Named: the scan's internals (its work counter, redaction helpers, option check) stay out of the API.
export {
  checkBodyText,
  checkCredentialLocation,
  checkRequestTarget,
  findCredential,
  readBearer,
  type BearerCredential,
  type CredentialLocation,
  type CredentialSpan,
  type TransportOptions,
} from "./transport";

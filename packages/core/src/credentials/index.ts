export * from "./key-cache";
export * from "./key-store";
export * from "./oauth";
export * from "./principal";
export * from "./request";
// Named: the scan's internals (its work counter, redaction helpers, option check) stay out of the API.
export {
  INVALID_TOKEN_CHALLENGE,
  REALM,
  bearerChallenge,
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

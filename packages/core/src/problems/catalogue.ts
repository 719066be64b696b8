/**
 * The one catalogue of problem codes: code -> HTTP status and fixed title (RFC 9457 problem details).
 * `ProblemCode` is derived from it, so an unknown code does not compile.
 */
export const catalogue = {
  malformed_authorization: { status: 400, title: "Malformed Authorization header" },
  credential_location_not_allowed: { status: 400, title: "Credential location not allowed" },
  duplicate_credentials: { status: 400, title: "Duplicate credentials" },
  missing_credentials: { status: 401, title: "Missing credentials" },
  unsupported_auth_scheme: { status: 401, title: "Unsupported authentication scheme" },
  invalid_api_key: { status: 401, title: "Invalid API key" },
  api_key_revoked: { status: 401, title: "API key revoked" },
  api_key_expired: { status: 401, title: "API key expired" },
  invalid_token: { status: 401, title: "Invalid token" },
  token_expired: { status: 401, title: "Token expired" },
  insufficient_credits: { status: 402, title: "Insufficient credits" },
  insufficient_scope: { status: 403, title: "Insufficient scope" },
  environment_mismatch: { status: 403, title: "Environment mismatch" },
  rate_limited: { status: 429, title: "Rate limited" },
  cost_exceeds_capacity: { status: 429, title: "Cost exceeds capacity" },
  invalid_idempotency_key: { status: 400, title: "Invalid idempotency key" },
  idempotency_key_required: { status: 400, title: "Idempotency key required" },
  idempotency_key_in_use: { status: 409, title: "Idempotency key in use" },
  idempotency_key_reused: { status: 422, title: "Idempotency key reused" },
  idempotency_unavailable: { status: 503, title: "Idempotency unavailable" },
  service_unavailable: { status: 503, title: "Service unavailable" },
  key_already_rolled: { status: 409, title: "Key already rolled" },
  key_limit_reached: { status: 409, title: "Key limit reached" },
  malformed_request: { status: 400, title: "Malformed request" },
  headers_too_large: { status: 431, title: "Request headers too large" },
  invalid_parameter: { status: 400, title: "Invalid parameter" },
  invalid_cursor: { status: 400, title: "Invalid cursor" },
  invalid_body: { status: 400, title: "Invalid body" },
  validation_failed: { status: 422, title: "Validation failed" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  internal_error: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { readonly status: number; readonly title: string }>;

/** Every problem code the contract defines. */
export type ProblemCode = keyof typeof catalogue;

/** The HTTP status of a code, typed as its literal. */
export type ProblemStatus<C extends ProblemCode> = (typeof catalogue)[C]["status"];

/** True when `code` is one of the catalogue's codes (for values that arrive untyped). */
export function isProblemCode(code: unknown): code is ProblemCode {
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(catalogue, code);
}

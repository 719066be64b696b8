import { isProblemCode } from "./catalogue";
import { isPolicyError, policyError, ProblemError, type PolicyError } from "./problem";

/** `Retry-After` of a 503 `service_unavailable` (a store outage), in seconds. */
const UNAVAILABLE_RETRY_AFTER: Readonly<Record<string, string>> = Object.freeze({ "retry-after": "1" });

/**
 * 503 `service_unavailable` with `Retry-After: 1`: a store the answer depends on failed, and the
 * request was refused rather than decided without it.
 * @example return serviceUnavailable("API keys cannot be verified right now; retry shortly.");
 */
export function serviceUnavailable(detail: string): PolicyError {
  return policyError("service_unavailable", detail, undefined, UNAVAILABLE_RETRY_AFTER);
}

/**
 * True for a `ProblemError`, also one from another copy of this package (an ESM and a CJS copy
 * loaded side by side), where `instanceof` would fail and turn a handler's 404 into a 500.
 * @example if (isProblemError(error)) return respond(error.status, error);
 */
export function isProblemError(error: unknown): error is ProblemError {
  if (error instanceof ProblemError) return true;
  return error instanceof Error && error.name === "ProblemError" && isPolicyError(error) && isProblemCode(error.code);
}

import { policyError, type PolicyError } from "../problems/problem";

const RETRY_SHORTLY: Readonly<Record<string, string>> = Object.freeze({ "retry-after": "1" });

/** 400 `idempotency_key_required`: the capability takes no write without an Idempotency-Key. */
export function idempotencyKeyRequired(capabilityId: string): PolicyError {
  return policyError("idempotency_key_required", `${capabilityId} requires an Idempotency-Key header.`);
}

/** 409 `idempotency_key_in_use`: the first request with this key is still running. */
export function idempotencyKeyInUse(): PolicyError {
  return policyError("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry shortly.", undefined, RETRY_SHORTLY);
}

/** 422 `idempotency_key_reused`: the key was first used with another method, path or body. */
export function idempotencyKeyReused(): PolicyError {
  return policyError("idempotency_key_reused", "This Idempotency-Key was used with a different request (method, path or body); use a new key.");
}

/** 503 `idempotency_unavailable`: the idempotency store cannot be read, and it fails closed. */
export function idempotencyUnavailable(): PolicyError {
  return policyError("idempotency_unavailable", "Idempotency keys cannot be checked right now; retry shortly.", undefined, RETRY_SHORTLY);
}

import type { BucketLimits, BucketResult } from "./store";

/** The window of a bucket in seconds: how long an empty bucket takes to fill. */
export function windowSeconds(limits: BucketLimits): number {
  return Math.max(1, Math.ceil(limits.capacity / limits.refillPerSecond));
}

/** `RateLimit-Policy: "tokens";q=600;w=60` (IETF draft, structured-field form). */
export function rateLimitPolicyHeader(limits: BucketLimits, name = "tokens"): string {
  return `"${name}";q=${limits.capacity};w=${windowSeconds(limits)}`;
}

/**
 * `RateLimit: "tokens";r=587;t=1`: whole tokens left, and whole seconds (rounded up) until the
 * next whole token (draft-ietf-httpapi-ratelimit-headers-10's `t`); 0 when the bucket is full.
 */
export function rateLimitHeader(result: BucketResult, name = "tokens"): string {
  return `"${name}";r=${result.remaining};t=${Math.ceil(result.nextTokenMs / 1000)}`;
}

/**
 * `Retry-After` of a refused step: the seconds until every bucket holds the cost (the largest
 * `retryAfterMs`), never earlier than the `t` of the bucket that refused. At least 1.
 */
export function retryAfterOf(results: readonly BucketResult[]): number {
  let ms = 0;
  for (const r of results) if (r.retryAfterMs > ms) ms = r.retryAfterMs;
  return retryAfterSeconds(ms);
}

/** `Retry-After` in whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

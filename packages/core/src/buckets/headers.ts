import type { BucketLimits, BucketResult } from "./store";

/** The window of a bucket in seconds: how long an empty bucket takes to fill. */
export function windowSeconds(limits: BucketLimits): number {
  return Math.max(1, Math.ceil(limits.capacity / limits.refillPerSecond));
}

/** `RateLimit-Policy: "tokens";q=600;w=60` (IETF draft, structured-field form). */
export function rateLimitPolicyHeader(limits: BucketLimits, name = "tokens"): string {
  return `"${name}";q=${limits.capacity};w=${windowSeconds(limits)}`;
}

/** `RateLimit: "tokens";r=587;t=2`: whole tokens left, seconds until full (rounded up). */
export function rateLimitHeader(result: BucketResult, name = "tokens"): string {
  return `"${name}";r=${result.remaining};t=${Math.ceil(result.resetMs / 1000)}`;
}

/** `Retry-After` in whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

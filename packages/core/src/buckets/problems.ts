import { policyError, type PolicyError } from "../problems/problem";
import { retryAfterOf } from "./headers";
import type { BucketLimits, BucketResult } from "./store";

/** A bucket's limits and its result: what a refusal and the RateLimit headers report. */
export interface BucketPart {
  readonly limits: BucketLimits;
  readonly result: BucketResult;
}

/**
 * 429 `cost_exceeds_capacity` when a bucket (the credential's or the tenant's) can never hold
 * `cost`; null when both can.
 * @example costExceedsCapacity(1000, tiers.free) // { code: "cost_exceeds_capacity", extensions: { cost: 1000, limit: 60 }, … }
 */
export function costExceedsCapacity(cost: number, limits: BucketLimits, tenant?: BucketLimits): PolicyError | null {
  const capacity = tenant ? Math.min(limits.capacity, tenant.capacity) : limits.capacity;
  if (cost <= capacity) return null;
  const whose = capacity === limits.capacity ? "your bucket" : "your tenant's shared bucket";
  return policyError("cost_exceeds_capacity", `This operation costs ${cost} tokens, more than ${whose} can hold (${capacity}).`, { cost, limit: capacity });
}

/**
 * 429 `rate_limited`, with the cost, remaining and limit of the bucket that refused (the one that
 * needs longest to hold the cost) and a `Retry-After` until both buckets hold it.
 */
export function rateLimited(cost: number, own: BucketPart, shared?: BucketPart): PolicyError {
  const by = shared && shared.result.retryAfterMs > own.result.retryAfterMs ? shared : own;
  const retry = retryAfterOf(shared ? [own.result, shared.result] : [own.result]);
  const tokens = `token${cost === 1 ? "" : "s"}`;
  const where = by === own ? "" : " in your tenant's shared bucket";
  return policyError(
    "rate_limited",
    `Rate limit exceeded: this request costs ${cost} ${tokens} and ${by.result.remaining} remain${where}. Retry after ${retry} second${retry === 1 ? "" : "s"}.`,
    { cost, remaining: by.result.remaining, limit: by.limits.capacity },
    { "retry-after": String(retry) },
  );
}

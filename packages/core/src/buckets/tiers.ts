import type { RateLimitTier } from "../credentials/principal";
import type { BucketLimits } from "./store";

/** Bucket size per tier. */
export type TierLimits = Readonly<Record<RateLimitTier, BucketLimits>>;

/** The contract's defaults: free 60 + 1/s, standard 600 + 10/s, pro 3,000 + 50/s, enterprise 12,000 + 200/s. */
export const DEFAULT_TIER_LIMITS: TierLimits = Object.freeze({
  free: Object.freeze({ capacity: 60, refillPerSecond: 1 }),
  standard: Object.freeze({ capacity: 600, refillPerSecond: 10 }),
  pro: Object.freeze({ capacity: 3000, refillPerSecond: 50 }),
  enterprise: Object.freeze({ capacity: 12000, refillPerSecond: 200 }),
});

/**
 * The largest bucket a store must hold: a token count in millionths stays within a 64-bit
 * integer (the Redis scripts answer tokens so), with room to spare.
 */
export const MAX_BUCKET_CAPACITY = 1e12;

/**
 * Checks bucket limits; a bad value throws naming the option.
 * @example const limits = checkLimits("createMyStore: `limits`", options.limits); // throws naming the option
 */
export function checkLimits(where: string, limits: BucketLimits): BucketLimits {
  if (!limits || !Number.isInteger(limits.capacity) || limits.capacity <= 0 || limits.capacity > MAX_BUCKET_CAPACITY) {
    throw new TypeError(`${where}.capacity must be a positive integer up to ${MAX_BUCKET_CAPACITY}`);
  }
  if (typeof limits.refillPerSecond !== "number" || !Number.isFinite(limits.refillPerSecond) || limits.refillPerSecond <= 0) {
    throw new TypeError(`${where}.refillPerSecond must be a positive finite number`);
  }
  return Object.freeze({ capacity: limits.capacity, refillPerSecond: limits.refillPerSecond });
}

/** The defaults with some tiers replaced, checked. */
export function tierLimits(overrides?: Partial<Record<RateLimitTier, BucketLimits>>): TierLimits {
  const out = { ...DEFAULT_TIER_LIMITS, ...overrides };
  for (const tier of Object.keys(DEFAULT_TIER_LIMITS) as RateLimitTier[]) {
    out[tier] = checkLimits(`tiers.${tier}`, out[tier]);
  }
  return Object.freeze(out);
}

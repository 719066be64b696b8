/** Size and speed of a token bucket. */
export interface BucketLimits {
  /** Tokens the bucket holds when full. A positive integer. */
  readonly capacity: number;
  /** Tokens added per second, up to `capacity`. Positive. */
  readonly refillPerSecond: number;
}

/** Which bucket: the tenant is part of every store key, so tenants never share one. */
export interface BucketRef {
  readonly tenantId: string;
  /** The credential's partition: `key:<api_key_id>` or `oauth:<client_id>:<user_id>`. */
  readonly id: string;
}

/** The outcome of one `consume`. */
export interface BucketResult {
  /** True when the cost was taken. A rejected request takes nothing. */
  readonly allowed: boolean;
  /** Whole tokens left after this call (floor). */
  readonly remaining: number;
  /** When rejected: milliseconds until the cost would be available (0 when allowed). */
  readonly retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
}

/**
 * Token-cost buckets. `consume` is atomic per bucket: concurrent calls never take more than the
 * bucket holds, and time comes from the store's own clock (the server's, for Redis). Limits are
 * passed on every call so that a tier change applies at once; a bucket never holds more than
 * the capacity it is consumed with. A bucket that has not been used is full.
 */
export interface BucketStore {
  /** Takes `cost` tokens (an integer >= 0; 0 only reads) if the bucket holds them. */
  consume(ref: BucketRef, cost: number, limits: BucketLimits): Promise<BucketResult>;
}

/** Refill arithmetic shared by the in-memory stores: tokens after `elapsedMs`. */
export function refill(tokens: number, elapsedMs: number, limits: BucketLimits): number {
  if (elapsedMs <= 0) return Math.min(tokens, limits.capacity);
  return Math.min(limits.capacity, tokens + (elapsedMs * limits.refillPerSecond) / 1000);
}

/** The decision on a bucket holding `tokens` (already refilled). Pure: the stores share it. */
export function decide(tokens: number, cost: number, limits: BucketLimits): { allowed: boolean; after: number; result: BucketResult } {
  // 1e-9 absorbs float drift from fractional refills (0.1 + 0.2 style), never a whole token.
  const allowed = tokens + 1e-9 >= cost;
  const after = allowed ? Math.max(0, tokens - cost) : tokens;
  const perMs = limits.refillPerSecond / 1000;
  return {
    allowed,
    after,
    result: {
      allowed,
      remaining: Math.floor(after + 1e-9),
      retryAfterMs: allowed ? 0 : Math.ceil((cost - tokens) / perMs),
      resetMs: Math.ceil((limits.capacity - after) / perMs),
    },
  };
}

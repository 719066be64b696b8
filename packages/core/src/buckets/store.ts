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
  /** The credential's partition: `key:<api_key_id>` or `oauth:<length of client_id>:<client_id>:<user_id>` (the length keeps it unambiguous). */
  readonly id: string;
}

/** The outcome of one `consume`. */
export interface BucketResult {
  /** True when the cost was taken. A rejected request takes nothing. */
  readonly allowed: boolean;
  /** Whole tokens left after this call (floor). */
  readonly remaining: number;
  /**
   * Milliseconds until this bucket holds the cost (0 when it holds it now). A request refused by
   * another bucket of the same step (`consumeAll`) may be refused with 0 here.
   */
  readonly retryAfterMs: number;
  /**
   * Milliseconds until the bucket holds one more whole token than `remaining` (0 when full): the
   * `t` of the RateLimit header (draft-ietf-httpapi-ratelimit-headers-10, "until additional quota
   * is made available").
   */
  readonly nextTokenMs: number;
  /** Milliseconds until the bucket is full again. */
  readonly resetMs: number;
}

/** One bucket of a `consumeAll` step. */
export interface BucketDemand {
  readonly ref: BucketRef;
  readonly limits: BucketLimits;
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
  /**
   * Takes `cost` from every bucket or from none, in one atomic step (a tenant-wide bucket with the
   * credential's): allowed only when each holds the cost. Results in the order of `buckets`; each
   * `allowed` is the step's. Optional: a policy with a tenant-wide bucket needs it.
   */
  consumeAll?(buckets: readonly BucketDemand[], cost: number): Promise<BucketResult[]>;
}

// Float drift from fractional refills (0.1 + 0.2 style) is absorbed by this many tokens, never
// a whole one; the same tolerance decides, floors `remaining` and times the next token.
const EPSILON = 1e-9;

/**
 * Refill arithmetic shared by the in-memory stores: tokens after `elapsedMs`.
 * @example refillTokens(10, 2_000, { capacity: 60, refillPerSecond: 1 }) // 12
 */
export function refillTokens(tokens: number, elapsedMs: number, limits: BucketLimits): number {
  if (elapsedMs <= 0) return Math.min(tokens, limits.capacity);
  return Math.min(limits.capacity, tokens + (elapsedMs * limits.refillPerSecond) / 1000);
}

/** Whole milliseconds until a bucket holding `tokens` holds `target` (0 when it does). */
function msUntil(tokens: number, target: number, perMs: number): number {
  const missing = target - tokens - EPSILON;
  return missing > 0 ? Math.ceil(missing / perMs) : 0;
}

/**
 * The result of a bucket holding `after` tokens once a step is decided (`allowed`: whether the
 * step took `cost`). Pure: the stores share it.
 * @example bucketResult(false, 0.5, 1, { capacity: 60, refillPerSecond: 1 }) // { allowed: false, remaining: 0, retryAfterMs: 500, … }
 */
export function bucketResult(allowed: boolean, after: number, cost: number, limits: BucketLimits): BucketResult {
  const perMs = limits.refillPerSecond / 1000;
  const remaining = Math.floor(after + EPSILON);
  return {
    allowed,
    remaining,
    retryAfterMs: allowed ? 0 : msUntil(after, cost, perMs),
    nextTokenMs: remaining >= limits.capacity ? 0 : msUntil(after, remaining + 1, perMs),
    resetMs: msUntil(after, limits.capacity, perMs),
  };
}

/**
 * True when a bucket holding `tokens` holds `cost`.
 * @example holdsCost(0.9999999999, 1) // true: float drift never costs a whole token
 */
export function holdsCost(tokens: number, cost: number): boolean {
  return tokens + EPSILON >= cost;
}

/**
 * Takes `cost` from a bucket holding `tokens` (already refilled) if it holds it: whether it did, the tokens after, and the result. Pure: the stores share it.
 * @example const { allowed, after, result } = takeTokens(refillTokens(state.tokens, now - state.at, limits), cost, limits);
 */
export function takeTokens(tokens: number, cost: number, limits: BucketLimits): { allowed: boolean; after: number; result: BucketResult } {
  const allowed = holdsCost(tokens, cost);
  const after = allowed ? Math.max(0, tokens - cost) : tokens;
  return { allowed, after, result: bucketResult(allowed, after, cost, limits) };
}

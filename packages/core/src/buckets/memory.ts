import { systemClock, type Clock } from "../clock";
import { bucketResult, holdsCost, refillTokens, takeTokens, type BucketDemand, type BucketLimits, type BucketRef, type BucketResult, type BucketStore } from "./store";

/** Options of `MemoryBucketStore`. */
export interface MemoryBucketStoreOptions {
  /** @default systemClock */
  readonly clock?: Clock;
  /** Past this many buckets, full ones (which hold no information) are dropped. @default 100000 */
  readonly sweepAbove?: number;
}

interface State {
  tokens: number;
  at: number;
  limits: BucketLimits;
}

/**
 * A process-local `BucketStore`. Exact within one process; for several processes use
 * `@alloovium/redis`.
 * @example createPolicy({ ...options, stores: { keys, buckets: new MemoryBucketStore({ clock }) } })
 */
export class MemoryBucketStore implements BucketStore {
  readonly #clock: Clock;
  readonly #sweepAbove: number;
  // tenant -> bucket id -> state: no key string is built per call.
  readonly #tenants = new Map<string, Map<string, State>>();
  #size = 0;

  constructor(options: MemoryBucketStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#sweepAbove = options.sweepAbove ?? 100_000;
  }

  /** Synchronous form of `consume`, for callers on the hot path. */
  consumeNow(ref: BucketRef, cost: number, limits: BucketLimits): BucketResult {
    const s = this.#state(ref, limits, this.#clock.now());
    const d = takeTokens(s.tokens, cost, limits);
    s.tokens = d.after;
    return d.result;
  }

  consume(ref: BucketRef, cost: number, limits: BucketLimits): Promise<BucketResult> {
    return Promise.resolve(this.consumeNow(ref, cost, limits));
  }

  /** Synchronous form of `consumeAll`: every bucket gives `cost`, or none does. */
  consumeAllNow(buckets: readonly BucketDemand[], cost: number): BucketResult[] {
    const now = this.#clock.now();
    const states = buckets.map((b) => this.#state(b.ref, b.limits, now));
    const allowed = states.every((s) => holdsCost(s.tokens, cost));
    return states.map((s, i) => {
      if (allowed) s.tokens = Math.max(0, s.tokens - cost);
      return bucketResult(allowed, s.tokens, cost, buckets[i]!.limits);
    });
  }

  consumeAll(buckets: readonly BucketDemand[], cost: number): Promise<BucketResult[]> {
    return Promise.resolve(this.consumeAllNow(buckets, cost));
  }

  /** The bucket's state, refilled to `now` (created full). */
  #state(ref: BucketRef, limits: BucketLimits, now: number): State {
    let tenant = this.#tenants.get(ref.tenantId);
    if (!tenant) {
      tenant = new Map();
      this.#tenants.set(ref.tenantId, tenant);
    }
    let s = tenant.get(ref.id);
    if (!s) {
      if (this.#size >= this.#sweepAbove) this.#sweep(now);
      s = { tokens: limits.capacity, at: now, limits };
      tenant.set(ref.id, s);
      this.#size++;
    } else {
      s.tokens = refillTokens(s.tokens, now - s.at, limits);
      if (now > s.at) s.at = now;
      s.limits = limits;
    }
    return s;
  }

  /** Buckets held now (full ones may be dropped at any time). */
  get size(): number {
    return this.#size;
  }

  #sweep(now: number): void {
    for (const [tenantId, tenant] of this.#tenants) {
      for (const [id, s] of tenant) {
        if (refillTokens(s.tokens, now - s.at, s.limits) >= s.limits.capacity) {
          tenant.delete(id);
          this.#size--;
        }
      }
      if (tenant.size === 0) this.#tenants.delete(tenantId);
    }
  }
}

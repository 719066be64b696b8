import { systemClock, type Clock } from "../clock";
import { decide, refill, type BucketLimits, type BucketRef, type BucketResult, type BucketStore } from "./store";

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
 */
export class MemoryBucketStore implements BucketStore {
  readonly #clock: Clock;
  readonly #sweepAbove: number;
  readonly #buckets = new Map<string, State>();

  constructor(options: MemoryBucketStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#sweepAbove = options.sweepAbove ?? 100_000;
  }

  /** Synchronous form of `consume`, for callers on the hot path. */
  consumeNow(ref: BucketRef, cost: number, limits: BucketLimits): BucketResult {
    const key = ref.tenantId + "\u0000" + ref.id;
    const now = this.#clock.now();
    let s = this.#buckets.get(key);
    if (!s) {
      if (this.#buckets.size >= this.#sweepAbove) this.#sweep(now);
      s = { tokens: limits.capacity, at: now, limits };
      this.#buckets.set(key, s);
    } else {
      s.tokens = refill(s.tokens, now - s.at, limits);
      if (now > s.at) s.at = now;
      s.limits = limits;
    }
    const d = decide(s.tokens, cost, limits);
    s.tokens = d.after;
    return d.result;
  }

  consume(ref: BucketRef, cost: number, limits: BucketLimits): Promise<BucketResult> {
    return Promise.resolve(this.consumeNow(ref, cost, limits));
  }

  /** Buckets held now (full ones may be dropped at any time). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, s] of this.#buckets) {
      if (refill(s.tokens, now - s.at, s.limits) >= s.limits.capacity) this.#buckets.delete(key);
    }
  }
}

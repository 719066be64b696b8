import { MemoryBucketStore, type BucketLimits, type BucketStore } from "@alloovium/core";
import {
  bucketResult,
  takeTokens,
  type BucketDemand,
  type BucketRef,
  type BucketResult,
} from "@alloovium/core/store-kit";
import { Connection } from "./connection";
import { kFallback, kFallbackAll, kInternals } from "./internal";
import { KeyLayout } from "./keys";
import { checkBase, checkFailure, type FailureMode, type RedisStoreBaseOptions } from "./options";
import { BUCKET_SCRIPT } from "./scripts";

/** Options of `RedisBucketStore`. */
export interface RedisBucketStoreOptions extends RedisStoreBaseOptions {
  /**
   * When Redis fails: `open` decides on a process-local `MemoryBucketStore` holding this
   * process's share of each bucket (capacity and refill divided by `localShareOf`); `closed`
   * throws, and the pipeline answers 503 `service_unavailable` with `Retry-After: 1`.
   * @default "open"
   */
  readonly failure?: FailureMode;
  /**
   * How many instances share the traffic: while failing open each process admits at most
   * 1/`localShareOf` of a bucket, so together they admit about what Redis would.
   * @default 1
   */
  readonly localShareOf?: number;
}

/**
 * A `BucketStore` on Redis: one Lua script and one round trip per decision, on the server's
 * clock, exact under any concurrency across processes. State is a hash of fractional tokens and
 * the time they were counted, expiring when the bucket would be full again (a full bucket is no
 * key).
 * @example
 * const buckets = new RedisBucketStore({ client: new Redis(), localShareOf: 4 });
 * const r = await buckets.consume({ tenantId, id: `key:${keyId}` }, 1, { capacity: 600, refillPerSecond: 10 });
 */
export class RedisBucketStore implements BucketStore {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #failure: FailureMode;
  readonly #share: number;
  readonly #local = new MemoryBucketStore();
  readonly #localLimits = new WeakMap<BucketLimits, BucketLimits>();
  readonly #onError: (error: unknown, operation: string) => void;

  constructor(options: RedisBucketStoreOptions) {
    const { prefix, timeoutMs } = checkBase("RedisBucketStore", options);
    this.#failure = checkFailure("RedisBucketStore", "failure", options.failure, "open");
    const share = options.localShareOf ?? 1;
    if (typeof share !== "number" || !Number.isFinite(share) || share < 1) {
      throw new TypeError("RedisBucketStore: `localShareOf` must be a number >= 1 (the expected instance count)");
    }
    this.#share = share;
    this.#conn = new Connection(options.client, timeoutMs);
    this.#keys = new KeyLayout(prefix);
    this.#onError = options.onError ?? (() => {});
  }

  consume(ref: BucketRef, cost: number, limits: BucketLimits): Promise<BucketResult> {
    let pending: Promise<unknown[]>;
    try {
      pending = this.#conn.decision(BUCKET_SCRIPT, [this.#keys.bucket(ref.tenantId, ref.id)], [cost, limits.capacity, limits.refillPerSecond, 0]);
    } catch (error) {
      return new Promise((resolve) => resolve(this[kFallback](ref, cost, limits, error)));
    }
    return pending.then(
      (reply) => resultOf(reply, cost, limits),
      (error: unknown) => this[kFallback](ref, cost, limits, error),
    );
  }

  /**
   * Takes `cost` from every bucket or from none, in one script and one round trip. The buckets
   * must belong to one tenant (one Cluster slot).
   */
  consumeAll(buckets: readonly BucketDemand[], cost: number): Promise<BucketResult[]> {
    const first = buckets[0];
    if (!first || buckets.some((b) => b.ref.tenantId !== first.ref.tenantId)) {
      return Promise.reject(new TypeError("RedisBucketStore.consumeAll: give one or more buckets, all of one tenant"));
    }
    const keys = buckets.map((b) => this.#keys.bucket(b.ref.tenantId, b.ref.id));
    const args: (string | number)[] = [cost, first.limits.capacity, first.limits.refillPerSecond, 0];
    for (let i = 1; i < buckets.length; i++) args.push(buckets[i]!.limits.capacity, buckets[i]!.limits.refillPerSecond);
    let pending: Promise<unknown[]>;
    try {
      pending = this.#conn.decision(BUCKET_SCRIPT, keys, args);
    } catch (error) {
      return new Promise((resolve) => resolve(this[kFallbackAll](buckets, cost, error)));
    }
    return pending.then(
      (reply) => resultsOf(reply[0] === 1, [reply[1], ...reply.slice(3)], cost, buckets),
      (error: unknown) => this[kFallbackAll](buckets, cost, error),
    );
  }

  /** @internal The failure path shared with `RedisAdmission`: local share, or rethrow. */
  [kFallback](ref: BucketRef, cost: number, limits: BucketLimits, error: unknown): BucketResult {
    this.#onError(error, "bucket");
    if (this.#failure === "closed") throw error;
    return this.#local.consumeNow(ref, cost, this.#localShare(limits));
  }

  /** @internal `kFallback` for several buckets at once. */
  [kFallbackAll](buckets: readonly BucketDemand[], cost: number, error: unknown): BucketResult[] {
    this.#onError(error, "bucket");
    if (this.#failure === "closed") throw error;
    return this.#local.consumeAllNow(buckets.map((b) => ({ ref: b.ref, limits: this.#localShare(b.limits) })), cost);
  }

  #localShare(limits: BucketLimits): BucketLimits {
    let local = this.#localLimits.get(limits);
    if (!local) {
      local = { capacity: limits.capacity / this.#share, refillPerSecond: limits.refillPerSecond / this.#share };
      this.#localLimits.set(limits, local);
    }
    return local;
  }

  /** @internal */
  get [kInternals](): { conn: Connection; keys: KeyLayout } {
    return { conn: this.#conn, keys: this.#keys };
  }
}

/**
 * Several buckets' part of a reply (tokens before the cost, in millionths) -> their results,
 * with the step's decision.
 */
export function resultsOf(allowed: boolean, millionths: readonly unknown[], cost: number, buckets: readonly BucketDemand[]): BucketResult[] {
  return buckets.map((b, i) => {
    const tokens = Number(millionths[i]) / 1_000_000;
    return bucketResult(allowed, allowed ? Math.max(0, tokens - cost) : tokens, cost, b.limits);
  });
}

/** The script's reply -> a result, with core's own arithmetic on the tokens the script saw. */
export function resultOf(reply: unknown[], cost: number, limits: BucketLimits): BucketResult {
  const tokens = Number(reply[1]) / 1_000_000; // the script answers millionths of a token
  const d = takeTokens(tokens, cost, limits).result;
  const allowed = reply[0] === 1;
  return d.allowed === allowed ? d : { ...d, allowed };
}

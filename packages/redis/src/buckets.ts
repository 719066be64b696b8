import { MemoryBucketStore, type BucketLimits, type BucketStore } from "@alloovium/core";
import {
  MAX_BUCKET_CAPACITY,
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
import { defineScript, luaFragment, SERVER_CLOCK } from "./script";

/**
 * The token bucket on the server: refill (same arithmetic as core's `refill`), then take `cost`
 * if held. A rejected request and a cost-0 read write nothing; a full bucket is no key. The state
 * is one string, "<tokens> <TIME seconds> <TIME microseconds>", written with SET PX: GET and SET
 * instead of three hash commands, and no float formatting but the tokens' (plain Lua tostring,
 * 14 significant digits): the time is kept as TIME's own strings. Tokens are answered as an
 * integer count of millionths.
 * `bucket_held` reads a bucket's tokens at the server time `sec`, `usec` (numbers);
 * `bucket_take` writes what is left after a cost, stamped with TIME's strings `t`.
 */
export const BUCKET_LUA = luaFragment("bucket", {
  defines: ["bucket_held", "bucket_take"],
  lua: `
local function bucket_held(key, capacity, rate, sec, usec)
  local v = redis.call('GET', key)
  if not v then return capacity end
  local a = string.find(v, ' ', 1, true)
  local b = string.find(v, ' ', a + 1, true)
  local tokens = tonumber(string.sub(v, 1, a - 1))
  local elapsed = (sec - tonumber(string.sub(v, a + 1, b - 1))) * 1000 + (usec - tonumber(string.sub(v, b + 1))) / 1000
  if elapsed > 0 then return math.min(capacity, tokens + (elapsed * rate) / 1000) end
  return math.min(tokens, capacity)
end
local function bucket_take(key, tokens, cost, capacity, rate, t)
  if cost <= 0 then return end
  local after = math.max(0, tokens - cost)
  if after >= capacity then
    redis.call('DEL', key)
  else
    local ttl = math.min(math.ceil(((capacity - after) * 1000) / rate) + 1, 9000000000000000)
    redis.call('SET', key, after .. ' ' .. t[1] .. ' ' .. t[2], 'PX', ttl)
  end
end`,
});

/**
 * Several buckets of one tenant, all or nothing: `buckets_all(keys, cost, limits, t, sec, usec)`
 * takes `cost` from every bucket if each holds it, else from none (`limits[i]` = {capacity,
 * refillPerSecond}); answers whether it did and each bucket's tokens before the cost.
 */
export const BUCKETS_ALL_LUA = luaFragment("buckets-all", {
  defines: ["buckets_all"],
  uses: [BUCKET_LUA],
  lua: `
local function buckets_all(keys, cost, limits, t, sec, usec)
  local tokens = {}
  local allowed = true
  for i = 1, #keys do
    tokens[i] = bucket_held(keys[i], limits[i][1], limits[i][2], sec, usec)
    if tokens[i] + 1e-9 < cost then allowed = false end
  end
  if allowed then
    for i = 1, #keys do bucket_take(keys[i], tokens[i], cost, limits[i][1], limits[i][2], t) end
  end
  return allowed, tokens
end`,
});

/** A bucket script's decoded reply: the decision and the tokens the bucket held before it. */
export interface BucketReply {
  readonly allowed: boolean;
  readonly tokens: number;
}

/**
 * Token-bucket decision on one bucket (the per-request hot path: nothing else in it). Its four
 * numbers travel as one binary ARGV of doubles (`doubles`): no strtod per argument.
 * Returns { 1 allowed | 0 rejected | -1 late, tokens before the cost in millionths (integer),
 * server now ms }.
 */
export const BUCKET_SCRIPT = defineScript<[bucket: string], [cost: number, capacity: number, refillPerSecond: number, deadline: number], BucketReply>({
  name: "bucket", keys: ["bucket"], args: ["cost", "capacity", "refillPerSecond", "deadline"],
  doubles: true,
  uses: [SERVER_CLOCK, BUCKET_LUA],
  lua: `
local cost, capacity, rate, deadline = struct.unpack('>d>d>d>d', ARGV[1])
local t, sec, usec, now, late = server_clock(deadline)
if late then return {-1, '', math.floor(now)} end
local tokens = bucket_held(KEYS[1], capacity, rate, sec, usec)
local allowed = tokens + 1e-9 >= cost
if allowed then bucket_take(KEYS[1], tokens, cost, capacity, rate, t) end
return {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now)}
`,
  decode: (r) => {
    const reply = r as [number, number];
    return { allowed: reply[0] === 1, tokens: reply[1] / 1_000_000 };
  },
});

/** The decoded reply of `BUCKETS_SCRIPT`: the decision and each bucket's tokens before it. */
export interface BucketsReply {
  readonly allowed: boolean;
  readonly tokens: readonly number[];
}

/**
 * Token-bucket decision on several buckets of one tenant, all or nothing.
 * ARGV[5], ARGV[6] are the capacity and refillPerSecond of KEYS[2], ARGV[7], ARGV[8] those of
 * KEYS[3], and so on.
 * Returns { 1 allowed | 0 rejected | -1 late, tokens of KEYS[1] before the cost in millionths
 * (integer), server now ms, tokens of KEYS[2], ... }.
 */
export const BUCKETS_SCRIPT = defineScript<
  [bucket: string, ...more: string[]],
  [cost: number, capacity: number, refillPerSecond: number, deadline: number, ...limitsOfMore: number[]],
  BucketsReply
>({
  name: "buckets",
  keys: ["bucket", "...more buckets"],
  args: ["cost", "capacity", "refillPerSecond", "deadline", "...capacity and refillPerSecond of each more bucket"],
  uses: [BUCKETS_ALL_LUA],
  lua: `
local limits = {{tonumber(ARGV[2]), tonumber(ARGV[3])}}
for i = 2, #KEYS do limits[i] = {tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])} end
local allowed, tokens = buckets_all(KEYS, tonumber(ARGV[1]), limits, t, sec, usec)
local r = {allowed and 1 or 0, math.floor(tokens[1] * 1000000), math.floor(now)}
for i = 2, #KEYS do r[i + 2] = math.floor(tokens[i] * 1000000) end
return r
`,
  decode: (r) => {
    const reply = r as number[];
    const tokens = [reply[1]! / 1_000_000];
    for (let i = 3; i < reply.length; i++) tokens.push(reply[i]! / 1_000_000);
    return { allowed: reply[0] === 1, tokens };
  },
});

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
    // The numbers travel as binary doubles: a bad one would be read as NaN or 0, not refused by Redis.
    const bad = badDemand("consume", cost, [limits]);
    if (bad) return Promise.reject(bad);
    let pending: Promise<BucketReply>;
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
    const bad = badDemand("consumeAll", cost, buckets.map((b) => b.limits));
    if (bad) return Promise.reject(bad);
    const keys = buckets.map((b) => this.#keys.bucket(b.ref.tenantId, b.ref.id)) as [string, ...string[]];
    const args: [number, number, number, number, ...number[]] = [cost, first.limits.capacity, first.limits.refillPerSecond, 0];
    for (let i = 1; i < buckets.length; i++) args.push(buckets[i]!.limits.capacity, buckets[i]!.limits.refillPerSecond);
    let pending: Promise<BucketsReply>;
    try {
      pending = this.#conn.decision(BUCKETS_SCRIPT, keys, args);
    } catch (error) {
      return new Promise((resolve) => resolve(this[kFallbackAll](buckets, cost, error)));
    }
    return pending.then(
      (reply) => resultsOf(reply, cost, buckets),
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

/** Several buckets' decision -> their results (core's arithmetic on the tokens the script saw). */
export function resultsOf(reply: BucketsReply, cost: number, buckets: readonly BucketDemand[]): BucketResult[] {
  const allowed = reply.allowed;
  return buckets.map((b, i) => {
    const tokens = reply.tokens[i]!;
    return bucketResult(allowed, allowed ? Math.max(0, tokens - cost) : tokens, cost, b.limits);
  });
}

/** One bucket's decision -> a result, with core's own arithmetic on the tokens the script saw. */
export function resultOf(reply: BucketReply, cost: number, limits: BucketLimits): BucketResult {
  const d = takeTokens(reply.tokens, cost, limits).result;
  return d.allowed === reply.allowed ? d : { ...d, allowed: reply.allowed };
}

/** A TypeError for a cost or limits no bucket can be asked (the caller's bug), else null. */
function badDemand(method: string, cost: number, limits: readonly BucketLimits[]): TypeError | null {
  if (typeof cost !== "number" || !Number.isFinite(cost) || cost < 0) return new TypeError(`RedisBucketStore.${method}: \`cost\` must be a finite number >= 0`);
  for (const l of limits) {
    if (!l || !Number.isInteger(l.capacity) || l.capacity <= 0 || l.capacity > MAX_BUCKET_CAPACITY || typeof l.refillPerSecond !== "number" || !Number.isFinite(l.refillPerSecond) || l.refillPerSecond <= 0) {
      return new TypeError(`RedisBucketStore.${method}: limits must have an integer capacity from 1 to ${MAX_BUCKET_CAPACITY} and a positive finite refillPerSecond`);
    }
  }
  return null;
}

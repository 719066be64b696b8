import type { VerifiedKeyCache } from "@alloovium/core";
import type { CreditLedger } from "@alloovium/core/store-kit";
import { RedisAdmission } from "./admission";
import { RedisBucketStore } from "./buckets";
import type { RedisClient } from "./connection";
import { checkRetention, RedisCreditStore } from "./credits";
import { RedisIdempotencyStore } from "./idempotency";
import { watchChannel } from "./invalidation";
import { RedisKeyStore } from "./key-store";
import { KeyLayout } from "./keys";
import { checkFlushOptions, checkLedger, type LedgerFlusher, type LedgerFlushOptions } from "./ledger";
import { checkBase, checkFailure, type FailureMode, type RedisStoreBaseOptions } from "./options";

/** Options of `createRedisStores`. */
export interface RedisStoresOptions extends RedisStoreBaseOptions {
  /** Bucket behaviour when Redis fails. */
  readonly buckets?: {
    /** @default "open" (onto this process's share of each bucket) */
    readonly failure?: FailureMode;
    /** Expected instance count; the local share is 1/`localShareOf`. @default 1 */
    readonly localShareOf?: number;
  };
  /** Idempotency behaviour when Redis fails. */
  readonly idempotency?: {
    /** @default "closed" (503 idempotency_unavailable) */
    readonly failure?: FailureMode;
  };
  /** Tenants' credit balances (absent = the grant) and hourly usage, charged by `admission`. */
  readonly credits?: {
    /**
     * When Redis fails during an admission: `open` lets the call through uncharged (the credit
     * part answers `unavailable`); `closed` makes the admission throw (503 `service_unavailable`).
     * @default "open"
     */
    readonly failure?: FailureMode;
    /** How long hourly usage is kept (ms). @default USAGE_RETENTION_MS (7 days) */
    readonly usageRetentionMs?: number;
  };
  /**
   * Redis in front of a durable ledger (e.g. `PostgresLedger` of `@alloovium/postgres`): the
   * admission script also queues every charge (and refunds, top-ups and grants) in Redis, a
   * background flusher appends the queues to `ledger` (any instance, at least once; the ledger
   * records each entry once), a balance Redis lost is loaded from the ledger (never reset to the
   * grant), and usage is read from the ledger. Without it, Redis is the only home of balances.
   * @example
   * const stores = createRedisStores({ client, ledger: new PostgresLedger({ pool }) });
   */
  readonly ledger?: CreditLedger;
  /** The background flush of the ledger queues (with `ledger` only). */
  readonly ledgerFlush?: LedgerFlushOptions;
}

/** What `createRedisStores` returns: the stores to give `createPolicy`, sharing one client. */
export interface RedisStores {
  readonly buckets: RedisBucketStore;
  readonly idempotency: RedisIdempotencyStore;
  /** Tenants' credit balances and hourly usage; what `admission` charges (`admission.credits`). */
  readonly credits: RedisCreditStore;
  /** Bucket decision + idempotency claim + credit charge in one script and one round trip. */
  readonly admission: RedisAdmission;
  /** API key records; `put` publishes the changed digests. (`keys`: what `createPolicy`'s `stores.keys` takes.) */
  readonly keys: RedisKeyStore;
  /**
   * With `ledger`: the background flush of the ledger queues (`stop()` it before closing the
   * client; `connectRedisStores`' `close` does). Absent without a ledger.
   */
  readonly ledgerFlusher?: LedgerFlusher;
  /** The channel `keys.put` publishes on: `${keyPrefix}:key-invalidations`. */
  readonly invalidationChannel: string;
  /**
   * Forgets changed keys in `cache` as other instances `put` them, and clears it on every
   * (re)connect. `subscriber` must be a connection of its own (e.g. `client.duplicate()`).
   * Resolves, once subscribed, to an async unsubscribe.
   */
  watchKeyInvalidations(cache: VerifiedKeyCache, subscriber: RedisClient): Promise<() => Promise<void>>;
}

/**
 * The Redis stores of one deployment on the caller's ioredis client (`Redis` or `Cluster`).
 * Options are checked here; a bad one throws a TypeError naming it.
 * @example
 * const client = new Redis(process.env.REDIS_URL);
 * const stores = createRedisStores({ client, buckets: { localShareOf: 4 } });
 * // The policy meters through Redis: it charges and refunds `stores.admission.credits`.
 * const policy = createPolicy({ environment: "live", stores, keyHasher });
 * const report = await readUsage(stores.credits, tenantId);
 * const stop = await stores.watchKeyInvalidations(policy.keyCache, client.duplicate());
 * // Or let `connectRedisStores` connect, watch and close: see there.
 */
export function createRedisStores(options: RedisStoresOptions): RedisStores {
  const { prefix } = checkBase("createRedisStores", options);
  if (options.buckets !== undefined && (typeof options.buckets !== "object" || options.buckets === null)) {
    throw new TypeError("createRedisStores: `buckets` must be an object");
  }
  if (options.idempotency !== undefined && (typeof options.idempotency !== "object" || options.idempotency === null)) {
    throw new TypeError("createRedisStores: `idempotency` must be an object");
  }
  if (options.credits !== undefined && (typeof options.credits !== "object" || options.credits === null)) {
    throw new TypeError("createRedisStores: `credits` must be an object");
  }
  checkFailure("createRedisStores", "buckets.failure", options.buckets?.failure, "open");
  checkFailure("createRedisStores", "credits.failure", options.credits?.failure, "open");
  checkRetention("createRedisStores", "credits.usageRetentionMs", options.credits?.usageRetentionMs);
  checkFailure("createRedisStores", "idempotency.failure", options.idempotency?.failure, "closed");
  const ledger = checkLedger("createRedisStores", options.ledger);
  const ledgerFlush = checkFlushOptions("createRedisStores", options.ledgerFlush);
  if (!ledger && options.ledgerFlush !== undefined) throw new TypeError("createRedisStores: `ledgerFlush` needs `ledger`");
  const share = options.buckets?.localShareOf;
  if (share !== undefined && (typeof share !== "number" || !Number.isFinite(share) || share < 1)) {
    throw new TypeError("createRedisStores: `buckets.localShareOf` must be a number >= 1 (the expected instance count)");
  }
  const base: RedisStoreBaseOptions = {
    client: options.client,
    keyPrefix: prefix,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  const buckets = new RedisBucketStore({ ...base, ...options.buckets });
  const idempotency = new RedisIdempotencyStore({ ...base, ...options.idempotency });
  const credits = new RedisCreditStore({ ...base, ...options.credits, ...(ledger ? { ledger, ledgerFlush } : {}) });
  const channel = new KeyLayout(prefix).channel;
  return {
    buckets,
    idempotency,
    credits,
    ...(credits.ledgerFlusher ? { ledgerFlusher: credits.ledgerFlusher } : {}),
    admission: new RedisAdmission(buckets, idempotency, credits),
    keys: new RedisKeyStore(base),
    invalidationChannel: channel,
    watchKeyInvalidations: (cache, subscriber) => watchChannel(cache, subscriber, channel),
  };
}

/**
 * `watchKeyInvalidations` without the stores: for a process that only reads keys.
 * @example
 * const stop = await watchKeyInvalidations(cache, subscriber, { keyPrefix: "alloovium" });
 */
export function watchKeyInvalidations(
  cache: VerifiedKeyCache,
  subscriber: RedisClient,
  options: { readonly keyPrefix?: string } = {},
): Promise<() => Promise<void>> {
  const prefix = options.keyPrefix ?? "alloovium";
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    return Promise.reject(new TypeError("watchKeyInvalidations: `keyPrefix` must be a non-empty string without { or }"));
  }
  return watchChannel(cache, subscriber, new KeyLayout(prefix).channel);
}

import type { VerifiedKeyCache } from "@alloovium/core";
import { PostgresAdmission, type AdmissionFailure } from "./admission";
import { PostgresBucketStore } from "./buckets";
import { PostgresCreditStore, PostgresLedger } from "./credits";
import { PostgresIdempotencyStore } from "./idempotency";
import { PostgresKeyStore } from "./key-store";
import { migrate } from "./migrate";
import { channelOf, checkSchema, Db, type PgClient, type PostgresStoreOptions } from "./pg";

/** Options of `createPostgresStores`. */
export interface PostgresStoresOptions extends PostgresStoreOptions {
  /** How the admission fails when PostgreSQL does (see `AdmissionFailure`). @default buckets and credits open */
  readonly failure?: AdmissionFailure;
  /** How long hourly usage is answered (ms). @default USAGE_RETENTION_MS (7 days) */
  readonly usageRetentionMs?: number;
  /** Told of every PostgreSQL failure the admission absorbed (a fallback). */
  readonly onError?: (error: unknown, operation: string) => void;
}

/** What `createPostgresStores` returns: every store of `createPolicy`'s `stores`, on one pool and schema. */
export interface PostgresStores {
  readonly keys: PostgresKeyStore;
  readonly buckets: PostgresBucketStore;
  readonly idempotency: PostgresIdempotencyStore;
  /** Balances and usage over the ledger; what `admission` charges (`admission.credits`). */
  readonly credits: PostgresCreditStore;
  /** The same ledger as `CreditLedger` (what a fast store in front flushes into). */
  readonly ledger: PostgresLedger;
  /** Bucket decision + idempotency claim + credit charge in one SQL function call. */
  readonly admission: PostgresAdmission;
  /** The channel key writes notify on: `alloovium_keys_<schema>`. */
  readonly invalidationChannel: string;
  /**
   * Deletes every expired bucket and idempotency row, in batches of `limit` rows of one table
   * (each batch its own statement and transaction, the two tables never in the same one),
   * yielding between batches and skipping rows a request holds (it never blocks one). Resolves
   * to how many it deleted. `connectPostgresStores` runs it on a timer.
   */
  sweep(limit?: number): Promise<number>;
}

/**
 * Every store on PostgreSQL alone, on the caller's `pg.Pool`, in a schema `migrate` prepared.
 * Options are checked here; a bad one throws a TypeError naming it.
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool);
 * const stores = createPostgresStores({ pool, failure: { localShareOf: 4 } });
 * const policy = createPolicy({ environment: "live", stores, keyHasher });
 */
export function createPostgresStores(options: PostgresStoresOptions): PostgresStores {
  const db = new Db("createPostgresStores", options);
  if (options.failure !== undefined && (typeof options.failure !== "object" || options.failure === null)) throw new TypeError("createPostgresStores: `failure` must be an object");
  if (options.onError !== undefined && typeof options.onError !== "function") throw new TypeError("createPostgresStores: `onError` must be a function");
  const base: PostgresStoreOptions = { pool: db.pool, schema: db.schema, queryTimeoutMs: db.timeoutMs };
  const creditOptions = options.usageRetentionMs === undefined ? base : { ...base, usageRetentionMs: options.usageRetentionMs };
  const buckets = new PostgresBucketStore(base);
  const credits = new PostgresCreditStore(creditOptions);
  return {
    keys: new PostgresKeyStore(base),
    buckets,
    idempotency: new PostgresIdempotencyStore(base),
    credits,
    ledger: new PostgresLedger(creditOptions),
    admission: new PostgresAdmission(db, buckets, credits, options.failure, options.onError),
    invalidationChannel: channelOf(db.schema),
    async sweep(limit = 1000) {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError("sweep: `limit` must be an integer >= 1");
      let total = 0;
      // One table per call, each call its own transaction; batches until one finds fewer than
      // `limit`, yielding to requests between batches.
      for (const fn of ["sweep_buckets", "sweep_idempotency"]) {
        for (;;) {
          const rows = await db.query<{ n: string }>(`SELECT ${db.q}.${fn}($1) AS n`, [limit]);
          const n = Number(rows[0]!.n);
          total += n;
          if (n < limit) break;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      return total;
    },
  };
}

/**
 * Forgets changed keys in `cache` as any instance writes them: `LISTEN`s on the schema's channel
 * on `client` (a dedicated, connected `pg.Client`; not one of a pool) and invalidates each
 * notified digest; the cache is cleared once listening, since notifications sent before are
 * lost. Resolves, once listening, to an async unlisten. A pg Client does not reconnect: when
 * the connection is lost, `connectPostgresStores` opens a new one and clears the cache again.
 * @example
 * const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
 * await client.connect();
 * const stop = await watchKeyInvalidations(policy.keyCache, client, { schema: "alloovium" });
 */
export async function watchKeyInvalidations(cache: VerifiedKeyCache, client: PgClient, options: { readonly schema?: string } = {}): Promise<() => Promise<void>> {
  if (!cache || typeof cache.invalidate !== "function" || typeof cache.clear !== "function") throw new TypeError("watchKeyInvalidations: `cache` must be a VerifiedKeyCache");
  if (!client || typeof client.query !== "function" || typeof client.on !== "function") throw new TypeError("watchKeyInvalidations: `client` must be a connected pg Client");
  const channel = channelOf(checkSchema("watchKeyInvalidations", options.schema));
  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== channel || !msg.payload) return;
    for (const digest of msg.payload.split("\n")) if (digest) cache.invalidate(digest);
  };
  client.on("notification", onNotification);
  try {
    await client.query({ text: `LISTEN "${channel}"` });
  } catch (e) {
    client.removeListener("notification", onNotification);
    throw e;
  }
  cache.clear();
  let active = true;
  return async () => {
    if (!active) return;
    active = false;
    client.removeListener("notification", onNotification);
    await client.query({ text: `UNLISTEN "${channel}"` }).catch(() => {});
  };
}

/** While the feed is lost and PostgreSQL answers, the caches are cleared this often (ms): within the 1 s revocation bound, without turning every key lookup into a database read. */
const OUTAGE_CLEAR_MS = 500;

/** Options of `connectPostgresStores`: those of `createPostgresStores`, the listener and the start-up steps. */
export interface ConnectPostgresStoresOptions extends PostgresStoresOptions {
  /**
   * Makes a new, unconnected `pg.Client` for the invalidation feed (called again after the
   * connection is lost), e.g. `() => new pg.Client({ connectionString })`.
   */
  readonly listener: () => PgClient;
  /** Run `migrate(pool, { schema })` first. @default true */
  readonly migrate?: boolean;
  /** How often the sweep runs (ms; 0: never). @default 60000 */
  readonly sweepIntervalMs?: number;
  /** How long to wait before opening the feed again after it was lost (ms). @default 1000 */
  readonly reconnectDelayMs?: number;
  /**
   * How often the feed's connection is checked (`SELECT 1` on it, given as long to answer; ms;
   * 0: never). A connection that died without closing (a lost network path) looks like a quiet
   * one: the check is what tells them apart, and a failed check is a lost feed.
   * @default 5000
   */
  readonly heartbeatMs?: number;
  /**
   * Told of every PostgreSQL failure a store absorbed and of the feed's connection errors, as
   * operation `"connection"` (once per distinct message until the feed is listening again), and
   * of a failed sweep as `"sweep"`.
   */
  readonly onError?: (error: unknown, operation: string) => void;
}

/** What `connectPostgresStores` resolves to. */
export interface ConnectedPostgresStores {
  /** The stores, as `createPostgresStores` builds them: `createPolicy({ stores })` takes them. */
  readonly stores: PostgresStores;
  /** Subscribes `cache` (the policy's verified-key cache) to every instance's key writes. Resolves once listening. */
  watch(cache: VerifiedKeyCache): Promise<void>;
  /** Stops the feed and the sweep and ends the listener's connection (the pool is the caller's). Idempotent. */
  close(): Promise<void>;
}

/**
 * Checks the pool answers, migrates (unless `migrate: false`), builds the stores, starts the
 * sweep and gives the key-invalidation watch and the close that go with them. The watch holds a
 * dedicated `pg.Client` from `listener()` (make it with `keepAlive: true`), checked every
 * `heartbeatMs`; when its connection is lost (closed, or silent past a heartbeat) it opens a new
 * one every `reconnectDelayMs` until it listens again. Notifications sent meanwhile are lost, so
 * while the feed is down the watched caches are cleared every 500 ms as long as the pool answers
 * (a key then read is fresh; while PostgreSQL does not answer no key can change, and cached keys
 * keep working), and once more when it listens again. If the pool cannot answer, the promise
 * rejects with an Error naming the cause.
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const pgStores = await connectPostgresStores({ pool, listener: () => new pg.Client({ connectionString: process.env.DATABASE_URL, keepAlive: true }),
 *   onError: (e, operation) => console.error(`postgres ${operation}:`, e) });
 * const policy = createPolicy({ environment: "live", stores: pgStores.stores, keyHasher });
 * await pgStores.watch(policy.keyCache);
 * process.on("SIGTERM", () => void pgStores.close().then(() => pool.end()));
 */
export async function connectPostgresStores(options: ConnectPostgresStoresOptions): Promise<ConnectedPostgresStores> {
  if (!options || typeof options !== "object") throw new TypeError("connectPostgresStores: options are required");
  const { listener, migrate: runMigrate = true, sweepIntervalMs = 60_000, reconnectDelayMs = 1000, heartbeatMs = 5000, ...rest } = options;
  const stores = createPostgresStores(rest);
  if (typeof listener !== "function") throw new TypeError("connectPostgresStores: `listener` must be a function making a new pg Client");
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) throw new TypeError("connectPostgresStores: `sweepIntervalMs` must be a number of ms >= 0");
  if (!Number.isFinite(reconnectDelayMs) || reconnectDelayMs < 0) throw new TypeError("connectPostgresStores: `reconnectDelayMs` must be a number of ms >= 0");
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 0) throw new TypeError("connectPostgresStores: `heartbeatMs` must be a number of ms >= 0");
  const schema = checkSchema("connectPostgresStores", options.schema);
  const onError = options.onError;
  try {
    await options.pool.query({ text: "SELECT 1" });
    if (runMigrate) await migrate(options.pool, { schema });
  } catch (e) {
    throw new Error(`connectPostgresStores: cannot prepare PostgreSQL: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }

  let closed = false;
  const caches: VerifiedKeyCache[] = [];
  let client: PgClient | undefined;
  let opening: Promise<void> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const seen = new Set<string>();
  const report = (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    if (seen.has(message) || closed) return;
    if (seen.size < 100) seen.add(message);
    onError?.(e, "connection");
  };
  const channel = channelOf(schema);
  const onNotification = (msg: { channel: string; payload?: string }) => {
    if (msg.channel !== channel || !msg.payload) return;
    for (const digest of msg.payload.split("\n")) if (digest) for (const c of caches) c.invalidate(digest);
  };

  // While the feed is lost, a change another instance makes is not heard: the caches are
  // cleared every OUTAGE_CLEAR_MS for as long as PostgreSQL answers (a key read then is fresh),
  // and left alone while it does not (no key can change then, and cached keys keep working).
  let outage: ReturnType<typeof setInterval> | undefined;
  let probing = false;
  const clearWhileLost = () => {
    if (probing || closed) return;
    probing = true;
    options.pool
      .query({ text: "SELECT 1", query_timeout: OUTAGE_CLEAR_MS * 10 })
      .then(() => {
        if (!client && !closed) for (const cache of caches) cache.clear();
      })
      .catch(() => {})
      .finally(() => (probing = false));
  };
  const lostFeed = () => {
    clearWhileLost();
    if (!outage && !closed) {
      outage = setInterval(clearWhileLost, OUTAGE_CLEAR_MS);
      outage.unref?.();
    }
  };
  const foundFeed = () => {
    if (outage) clearInterval(outage);
    outage = undefined;
    for (const cache of caches) cache.clear();
  };

  /** Opens the feed: a new client, LISTEN, then the caches cleared. Retries until closed. */
  function open(): Promise<void> {
    if (client) return Promise.resolve();
    // A retry pending from a lost connection is this open: never a second client.
    if (retry) clearTimeout(retry);
    retry = undefined;
    return (opening ??= (async () => {
      const c = listener();
      let lost = false;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      const onLost = (e?: unknown) => {
        if (lost) return;
        lost = true;
        if (heartbeat) clearInterval(heartbeat);
        if (e) report(e);
        c.removeListener("notification", onNotification);
        const wasListening = client === c;
        if (wasListening) client = undefined;
        c.end().catch(() => {});
        if (closed) return;
        if (wasListening) lostFeed();
        if (!retry) retry = setTimeout(() => ((retry = undefined), void open().catch(() => {})), reconnectDelayMs);
      };
      c.on("error", onLost);
      c.on("end", () => onLost());
      try {
        await c.connect();
        c.on("notification", onNotification);
        await c.query({ text: `LISTEN "${channel}"` });
      } catch (e) {
        onLost(e);
        throw e;
      } finally {
        opening = undefined;
      }
      if (closed || lost) {
        if (!lost) c.end().catch(() => {});
        return;
      }
      client = c;
      seen.clear();
      foundFeed();
      if (heartbeatMs > 0) {
        let beating = false;
        heartbeat = setInterval(() => {
          if (beating || lost) return;
          beating = true;
          c.query({ text: "SELECT 1", query_timeout: heartbeatMs })
            .catch((e: unknown) => onLost(new Error(`the key invalidation feed's connection did not answer its heartbeat: ${e instanceof Error ? e.message : String(e)}`, { cause: e })))
            .finally(() => (beating = false));
        }, heartbeatMs);
        heartbeat.unref?.();
      }
    })());
  }

  let sweeping = false;
  const sweeper =
    sweepIntervalMs > 0
      ? setInterval(() => {
          if (sweeping) return; // a backlog still being swept
          sweeping = true;
          stores.sweep().catch((e) => onError?.(e, "sweep")).finally(() => (sweeping = false));
        }, sweepIntervalMs)
      : undefined;
  sweeper?.unref?.();
  let closing: Promise<void> | undefined;
  return {
    stores,
    async watch(cache) {
      if (closed) throw new Error("connectPostgresStores: watch after close");
      if (!cache || typeof cache.invalidate !== "function" || typeof cache.clear !== "function") throw new TypeError("watch: `cache` must be a VerifiedKeyCache");
      caches.push(cache);
      if (!client) await open();
      else cache.clear();
    },
    close() {
      return (closing ??= (async () => {
        closed = true;
        if (sweeper) clearInterval(sweeper);
        if (retry) clearTimeout(retry);
        if (outage) clearInterval(outage);
        await opening?.catch(() => {});
        const c = client;
        client = undefined;
        if (c) {
          c.removeListener("notification", onNotification);
          await c.end().catch(() => {});
        }
      })());
    },
  };
}

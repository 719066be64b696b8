import type { KeyStore, PolicyStores, VerifiedKeyCache } from "@alloovium/core";
import type { CreditLedger } from "@alloovium/core/store-kit";
import type { ConnectedRedisStores } from "@alloovium/redis";

/**
 * Connects to Redis (one connection for commands, one for the invalidation subscription) with
 * `@alloovium/redis`'s `connectRedisStores`: the stores for the policy, the watch that keeps the
 * policy's key cache in step with every instance, and the close. Loaded only when `redisUrl` is set.
 */
export async function connectRedis(url: string, keyPrefix: string, log: (line: string) => void, ledger?: CreditLedger): Promise<ConnectedRedisStores> {
  const { Redis } = await import("ioredis");
  const { connectRedisStores } = await import("@alloovium/redis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  // The watch subscribes again itself on every reconnect (and handles its reply): ioredis's own
  // resubscribe leaves its promise unhandled, which rejects when the connection closes before it
  // is answered (an unhandled rejection at shutdown after a Redis restart).
  const subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, autoResubscribe: false });
  return connectRedisStores({
    client,
    subscriber,
    keyPrefix,
    ...(ledger ? { ledger } : {}),
    // Connection errors once per distinct error; the stores' absorbed failures reach the policy's onStoreError too.
    onError: (e, operation) => {
      if (operation === "connection") log(`redis: ${e instanceof Error ? e.message : String(e)}`);
      // In front of PostgreSQL: a flush round that failed (retried; nothing is lost).
      if (operation === "ledger-flush") log(`redis ledger flush: ${e instanceof Error ? e.message : String(e)}`);
    },
  });
}

/** What `connectRedis` gives the server: `{ stores, watch, close }`. */
export type RedisWiring = ConnectedRedisStores;

/** Shared stores, however they are connected: what the server gives the policy, watches and closes. */
export interface StoreWiring {
  readonly stores: PolicyStores & { readonly keys: KeyStore };
  watch(cache: VerifiedKeyCache): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to PostgreSQL with `@alloovium/postgres`: a pool, the schema migrated at start (under
 * the migrations' advisory lock, so instances may start together), every store in it, and a
 * dedicated connection that LISTENs for key changes. Loaded only when `databaseUrl` is set.
 */
export async function connectPostgres(url: string, schema: string, log: (line: string) => void): Promise<StoreWiring> {
  const { default: pg } = await import("pg");
  const { connectPostgresStores } = await import("@alloovium/postgres");
  // statement_timeout below the stores' query timeout (5 s): a query given up on is cancelled on the server too, never applied late.
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 2000, statement_timeout: 2000 });
  // An idle client cut by a restart of the server: the next query takes a new one.
  pool.on("error", (e) => log(`postgres: ${e.message}`));
  try {
    const connected = await connectPostgresStores({
      pool,
      schema,
      listener: () => new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 }),
      onError: (e, operation) => {
        if (operation === "connection" || operation === "sweep") log(`postgres ${operation}: ${e instanceof Error ? e.message : String(e)}`);
      },
    });
    return {
      stores: connected.stores,
      watch: (cache) => connected.watch(cache),
      close: async () => {
        await connected.close();
        await pool.end();
      },
    };
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
}

/** A `pg.Pool` constructor (the `pg` package is loaded only when a database is configured). */
type PoolClass = new (config: { connectionString: string; max: number; connectionTimeoutMillis: number; statement_timeout: number }) => import("pg").Pool;

/**
 * The ledger's two pools: `flush` (2 connections) for the background appends, `load` (2) for the
 * request path's balance loads and usage reads. Each connection has a `statement_timeout` on
 * the server (flush 5 s, below the flush's 10 s lease, so an append the client gave up on never
 * commits after another flusher took the batch; load 2 s), beside the stores' own query timeout.
 */
export function ledgerPools(Pool: PoolClass, databaseUrl: string, log: (line: string) => void): { readonly flush: import("pg").Pool; readonly load: import("pg").Pool } {
  const flush = new Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 2000, statement_timeout: 5000 });
  const load = new Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 1000, statement_timeout: 2000 });
  for (const p of [flush, load]) p.on("error", (e) => log(`postgres: ${e.message}`));
  return { flush, load };
}

/**
 * Redis in front of PostgreSQL: PostgreSQL holds the key records (read on a cache miss; its
 * LISTEN feed keeps every instance's key cache in step), the credit ledger and usage; Redis holds
 * the buckets, idempotency records and the hot balances, and its admission script queues every
 * charge for the ledger flush (`@alloovium/redis` with `ledger`).
 */
export async function connectRedisInFrontOfPostgres(redisUrl: string, keyPrefix: string, databaseUrl: string, schema: string, log: (line: string) => void): Promise<StoreWiring> {
  const { default: pg } = await import("pg");
  const { PostgresLedger } = await import("@alloovium/postgres");
  // The PostgreSQL side first (migrated, keys and their feed), then Redis with the ledger behind it.
  const durable = await connectPostgres(databaseUrl, schema, log);
  const pools = ledgerPools(pg.Pool, databaseUrl, log);
  const end = () => Promise.all([pools.flush.end(), pools.load.end()]);
  // Appends on the flush's own pool, balance loads and usage reads (the request path) on another:
  // a flush of big batches never makes a request wait for a connection.
  const flushing = new PostgresLedger({ pool: pools.flush, schema });
  const loading = new PostgresLedger({ pool: pools.load, schema });
  const ledger: CreditLedger = {
    append: (entries) => flushing.append(entries),
    balance: (tenantId) => loading.balance(tenantId),
    usage: (tenantId, sinceMs) => loading.usage(tenantId, sinceMs),
  };
  let redis: ConnectedRedisStores;
  try {
    redis = await connectRedis(redisUrl, keyPrefix, log, ledger);
  } catch (e) {
    await end().catch(() => {});
    await durable.close().catch(() => {});
    throw e;
  }
  const { keys: _redisKeys, ...hot } = redis.stores; // key records are PostgreSQL's only
  return {
    stores: { ...hot, keys: durable.stores.keys },
    watch: (cache) => durable.watch(cache),
    close: async () => {
      await redis.close(); // the ledger's last flush, then the connections
      await end();
      await durable.close();
    },
  };
}

/** Where the sample's shared state lives: the options `connectStores` reads. */
export interface StoreSettings {
  readonly redisUrl?: string | undefined;
  readonly redisKeyPrefix?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly databaseSchema?: string | undefined;
}

/**
 * The shared stores the settings ask for: PostgreSQL for everything (`databaseUrl`), Redis for
 * everything (`redisUrl`), Redis in front of PostgreSQL (both), or none (undefined: this
 * process's memory).
 */
export async function connectStores(settings: StoreSettings, log: (line: string) => void): Promise<StoreWiring | undefined> {
  if (settings.databaseUrl !== undefined && settings.redisUrl !== undefined) {
    return connectRedisInFrontOfPostgres(settings.redisUrl, settings.redisKeyPrefix ?? "alloovium", settings.databaseUrl, settings.databaseSchema ?? "alloovium", log);
  }
  if (settings.databaseUrl !== undefined) return connectPostgres(settings.databaseUrl, settings.databaseSchema ?? "alloovium", log);
  if (settings.redisUrl !== undefined) return connectRedis(settings.redisUrl, settings.redisKeyPrefix ?? "alloovium", log);
  return undefined;
}

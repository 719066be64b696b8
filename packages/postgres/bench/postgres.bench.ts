/**
 * Benchmark of @alloovium/postgres (not a timed test: it prints, it asserts nothing).
 *
 * - A key lookup on a cache miss: `PostgresKeyStore.findByDigest` against `RedisKeyStore`'s.
 * - Credit charges per second on PostgreSQL alone, at concurrency 1 and 64, for one hot tenant
 *   and for 100 tenants.
 * - Our PostgreSQL bucket (`PostgresBucketStore.consume`) against rate-limiter-flexible's
 *   `RateLimiterPostgres` on the same database (medians of alternated runs, and their ratio).
 * - Round trips per admission (bucket + claim + charge), counted by the driver (queries sent)
 *   and on the server (`pg_stat_database.xact_commit`: every statement outside a transaction
 *   block is one transaction).
 *
 * Runs on a private PostgreSQL server (initdb + pg_ctl from `pg_config --bindir`, a temp
 * directory and port: quiet and unshared, so the server's counters are this run's), else on
 * BENCH_DATABASE_URL / DATABASE_URL / 127.0.0.1:5432. Redis: REDIS_URL or 127.0.0.1:6379 (the
 * lookup comparison is left out without one). Bounded: about 40 s.
 * Run: `pnpm --filter @alloovium/postgres bench` (builds dist first).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { RedisKeyStore } from "@alloovium/redis";
import { Redis } from "ioredis";
import pg from "pg";
import { RateLimiterPostgres } from "rate-limiter-flexible";
import { sleep, ThrowawayServer } from "../test/pg-server";

// The built package (as users run it): `pnpm bench` builds it first. BENCH_SOURCE=1 measures src.
const entry = process.env.BENCH_SOURCE ? "../src/index.ts" : "../dist/index.js";
const { createPostgresStores, migrate } = (await import(entry)) as typeof import("../src/index");

const RUN_MS = Number(process.env.BENCH_DURATION_MS ?? 1500);
const ROUNDS = 3;

let counter = 0;
async function measure(concurrency: number, durationMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const until = Date.now() + durationMs;
  let n = 0;
  const loop = async () => {
    while (Date.now() < until) {
      await op(counter++);
      n++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return (n * 1000) / (performance.now() - start);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

let server: ThrowawayServer | undefined;
let url = process.env.BENCH_DATABASE_URL ?? "";
if (!url) {
  try {
    server = await ThrowawayServer.start();
    url = server.url;
  } catch (e) {
    url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    console.log(`(no private server: ${(e as Error).message.split("\n")[0]}; on ${url.replace(/\/\/[^@/]*@/, "//***@")})`);
  }
}
const schema = `bench_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
const pool = new pg.Pool({ connectionString: url, max: 64 });
pool.on("error", () => {});
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
redis.on("error", () => {});
const redisPrefix = `bench-pg-${randomUUID()}`;

try {
  await migrate(pool, { schema });
  const stores = createPostgresStores({ pool, schema, queryTimeoutMs: 30_000 });
  const version = (await pool.query("SHOW server_version")).rows[0].server_version;
  console.log(`@alloovium/postgres bench — ${new Date().toISOString().slice(0, 10)}, PostgreSQL ${version}${server ? " (private server, fsync off)" : ""}, Node ${process.version}, ${RUN_MS} ms runs, medians of ${ROUNDS}\n`);

  // 1. A key lookup on a cache miss.
  const digests: string[] = [];
  const keyRecord = (tenant: string, digest: string) => ({
    id: randomUUID(), name: "bench", prefix: "ak_live_BNCH", digest, user_id: "u", tenant_id: tenant, email: null, environment: "live" as const,
    rate_limit_tier: "standard" as const, scopes: ["vault:read"], created_at: new Date().toISOString(), expires_at: null, revoked_at: null,
  });
  let redisKeys: RedisKeyStore | undefined;
  try {
    await redis.connect();
    redisKeys = new RedisKeyStore({ client: redis, keyPrefix: redisPrefix, commandTimeoutMs: 30_000 });
  } catch {
    console.log("(no Redis: the lookup comparison is left out)");
  }
  for (let i = 0; i < 1000; i++) {
    const d = `p1:${randomBytes(32).toString("base64url")}`;
    digests.push(d);
    const r = keyRecord(`t${i % 10}`, d);
    await stores.keys.insert(r);
    if (redisKeys) await redisKeys.insert(r);
  }
  for (const c of [1, 16]) {
    const p: number[] = [];
    const r: number[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      p.push(await measure(c, RUN_MS, (i) => stores.keys.findByDigest(digests[i % 1000]!)));
      if (redisKeys) r.push(await measure(c, RUN_MS, (i) => redisKeys!.findByDigest(digests[i % 1000]!)));
    }
    console.log(`key lookup (cache miss), concurrency ${c}: PostgreSQL ${fmt(median(p))}/s${redisKeys ? `, Redis ${fmt(median(r))}/s (PostgreSQL ${(median(p) / median(r)).toFixed(2)}x)` : ""}`);
  }

  // 2. Credit charges per second, PostgreSQL alone.
  console.log("");
  for (const tenants of [1, 100]) {
    for (const c of [1, 64]) {
      const ids = Array.from({ length: tenants }, () => randomUUID());
      const runs: number[] = [];
      for (let k = 0; k < ROUNDS; k++) {
        runs.push(
          await measure(c, RUN_MS, (i) => stores.credits.charge({ tenantId: ids[i % tenants]!, capability: "vault.projects.create", credits: 1, grant: 1_000_000_000, reservation: randomUUID() })),
        );
      }
      console.log(`credit charges, ${tenants === 1 ? "one hot tenant" : "100 tenants"}, concurrency ${c}: ${fmt(median(runs))}/s`);
    }
  }

  // 3. Our bucket against RateLimiterPostgres on the same database.
  console.log("");
  const limiter = await new Promise<RateLimiterPostgres>((resolve, reject) => {
    const l: RateLimiterPostgres = new RateLimiterPostgres({ storeClient: pool, schemaName: schema, tableName: "rlflx", points: 1_000_000_000, duration: 3600 }, (err?: unknown) => (err ? reject(err) : resolve(l)));
  });
  const limits = { capacity: 1_000_000_000, refillPerSecond: 1000 };
  for (const c of [1, 16]) {
    const ours: number[] = [];
    const theirs: number[] = [];
    const ratios: number[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      const a = await measure(c, RUN_MS, (i) => stores.buckets.consume({ tenantId: "t", id: `key:${i % 100}` }, 1, limits));
      const b = await measure(c, RUN_MS, (i) => limiter.consume(`key:${i % 100}`, 1));
      ours.push(a);
      theirs.push(b);
      ratios.push(a / b);
    }
    console.log(`bucket, 100 keys, concurrency ${c}: ours ${fmt(median(ours))}/s, RateLimiterPostgres ${fmt(median(theirs))}/s (ours ${median(ratios).toFixed(2)}x)`);
  }

  // 4. Round trips per admission: the driver's count and the server's.
  console.log("");
  let sent = 0;
  // Statements sent on the pool or on a client checked out of it (the stores check one out).
  const counting = {
    query: (q: never) => (sent++, pool.query(q)),
    connect: async () => {
      const client = await pool.connect();
      return { query: (q: never) => (sent++, client.query(q)), release: (e?: Error | boolean) => client.release(e), processID: (client as unknown as { processID: number }).processID };
    },
  };
  const counted = createPostgresStores({ pool: counting, schema });
  const dbName = (await pool.query("SELECT current_database() AS d")).rows[0].d;
  const commits = async () => {
    const c = await pool.connect();
    try {
      await c.query("SELECT pg_stat_clear_snapshot()");
      return Number((await c.query("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", [dbName])).rows[0].xact_commit);
    } finally {
      c.release();
    }
  };
  const N = 500;
  await sleep(1200); // let the server publish its counters
  const before = await commits();
  const tenantId = randomUUID();
  for (let i = 0; i < N; i++) {
    await counted.admission.admit({
      bucket: { tenantId, id: "key:rt" },
      cost: 1,
      limits,
      claim: { ref: { tenantId, scope: "u:live", key: `k${i}` }, fingerprint: "fp", leaseMs: 60_000 },
      charge: { capability: "vault.projects.create", credits: 1, grant: 1_000_000, reservation: randomUUID() },
    });
  }
  await sleep(1200);
  const after = await commits();
  // Each `commits()` reads in 2 statements; the one after the run counts the one before.
  const serverSide = (after - before - 2) / N;
  console.log(`round trips per admission (bucket + claim + charge): driver ${(sent / N).toFixed(2)}, server ${serverSide.toFixed(2)} transactions${server ? "" : " (a shared server: others' transactions count too)"}`);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await pool.end();
  if (redis.status === "ready") {
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
  server?.destroy();
}

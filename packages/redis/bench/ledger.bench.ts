/**
 * Benchmark: credit charges on Redis in front of PostgreSQL (`createRedisStores({ ledger })`,
 * the admission script queueing each charge, the background flush appending to a
 * `PostgresLedger`) against today's Redis-only admission, on one Redis; and the flush's lag (from
 * the script's server time to the ledger's commit) under that load. Throughput in charges/s
 * (medians of alternated runs) and the median ratio of runs next to each other.
 *
 * Redis: a private redis-server on a free port when `redis-server` is on PATH, else
 * BENCH_REDIS_URL / REDIS_URL. PostgreSQL: DATABASE_URL, else the machine's at 127.0.0.1:5432
 * (database `test`), in a schema of its own, dropped at the end. Bounded: about 40 s.
 * Run: `pnpm --filter @alloovium/redis bench` (builds dist first).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { CreditLedger, LedgerEntry } from "@alloovium/core/store-kit";
import { Redis } from "ioredis";
import { deleteKeys, hasRedisServer, RedisServer } from "../test/redis-server";
import { postgres } from "../test/postgres";

const entry = process.env.BENCH_SOURCE ? "../src/index.ts" : "../dist/index.js";
const { createRedisStores } = (await import(entry)) as typeof import("../src/index");

const WARMUP_MS = 100;
const ROUNDS = 4;
const RUN_MS = 500;

let i = 0;

async function measure(concurrency: number, durationMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const loop = async (until: number, count: { n: number }) => {
    while (Date.now() < until) {
      await op(i++);
      count.n++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => loop(Date.now() + WARMUP_MS, { n: 0 })));
  const count = { n: 0 };
  const start = performance.now();
  const until = Date.now() + durationMs;
  await Promise.all(Array.from({ length: concurrency }, () => loop(until, count)));
  return count.n / ((performance.now() - start) / 1000);
}

/** Alternated pairs of runs (A then B, B then A): medians and the median of the pairs' ratios. */
async function compare(concurrency: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>, between: () => Promise<void>): Promise<[number, number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = await measure(concurrency, RUN_MS, a);
      await between();
      y = await measure(concurrency, RUN_MS, b);
    } else {
      y = await measure(concurrency, RUN_MS, b);
      x = await measure(concurrency, RUN_MS, a);
      await between();
    }
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return [median(as), median(bs), median(ratios)];
}

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((p, r) => p - r);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const progress = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** The ledger, timing each entry from its script (`at`, server ms) to the end of its append. */
class TimedLedger implements CreditLedger {
  lags: number[] = [];
  constructor(readonly inner: CreditLedger) {}
  async append(entries: readonly LedgerEntry[]): Promise<void> {
    await this.inner.append(entries);
    const now = Date.now();
    for (const e of entries) this.lags.push(now - e.at);
  }
  balance(tenantId: string) {
    return this.inner.balance(tenantId);
  }
  usage(tenantId: string, sinceMs: number) {
    return this.inner.usage(tenantId, sinceMs);
  }
}

async function main(): Promise<void> {
  const server = !process.env.BENCH_REDIS_URL && hasRedisServer() ? await RedisServer.start() : null;
  const url = server?.url ?? process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const pg = await postgres("bench");
  progress(`redis at ${url}, postgres schema ${pg.schema}`);
  const prefix = `alloovium-bench-${randomBytes(4).toString("hex")}`;
  const client = new Redis(url);
  const ledger = new TimedLedger(pg.ledger());
  const redisOnly = createRedisStores({ client, keyPrefix: `${prefix}-r`, commandTimeoutMs: 5000 });
  const fronted = createRedisStores({ client, keyPrefix: `${prefix}-p`, commandTimeoutMs: 5000, ledger });
  // The same deployment with the flush paused during the runs (drained between them): what the
  // request path itself costs, apart from the flush's CPU (on this machine PostgreSQL shares it).
  const paused = createRedisStores({ client, keyPrefix: `${prefix}-q`, commandTimeoutMs: 5000, ledger: pg.ledger(), ledgerFlush: { autoStart: false } });
  const redisVersion = /redis_version:(\S+)/.exec(await client.info("server"))?.[1] ?? "?";
  const limits = { capacity: 1e12, refillPerSecond: 1e9 };
  const charge = (s: typeof redisOnly, tenantId: string) =>
    s.admission.admit({ bucket: { tenantId, id: "key:1" }, cost: 1, limits, charge: { capability: "vault.projects.list", credits: 1, grant: 1e12, reservation: randomUUID() } });
  // Each run of the ledger side starts with its queues flushed, so no run inherits another's backlog.
  const drain = () => fronted.ledgerFlusher!.flush().then(() => undefined);

  try {
    const rows: string[][] = [];
    const ratios: number[] = [];
    let lagAt64: number[] = [];
    for (const tenants of [1, 100]) {
      for (const c of [1, 64]) {
        const name = (t: number) => (tenants === 1 ? "hot" : `t${t % tenants}`);
        ledger.lags = [];
        const [a, b, q] = await compare(c, (n) => charge(fronted, name(n)), (n) => charge(redisOnly, name(n)), drain);
        await drain();
        const lags = ledger.lags;
        if (c === 64) lagAt64 = lagAt64.concat(lags);
        progress(`${tenants} tenant(s), c=${c}: ${fmt(a)} vs ${fmt(b)} (${q.toFixed(2)}x), lag p50 ${quantile(lags, 0.5)} ms p99 ${quantile(lags, 0.99)} ms`);
        ratios.push(q);
        rows.push([
          `credit charge, ${tenants === 1 ? "one hot tenant" : "100 tenants"}, concurrency ${c}`,
          fmt(a),
          fmt(b),
          `${q.toFixed(2)}x`,
          `${quantile(lags, 0.5)} / ${quantile(lags, 0.99)} / ${lags.reduce((m, x) => Math.max(m, x), 0)}`,
        ]);
      }
    }
    const pausedRows: string[][] = [];
    for (const tenants of [1, 100]) {
      // Tenants of their own: this deployment's Redis balances are not the other's, the ledger is shared.
      const name = (t: number) => (tenants === 1 ? "hot-paused" : `paused-t${t % tenants}`);
      const [a, b, q] = await compare(64, (n) => charge(paused, name(n)), (n) => charge(redisOnly, name(n)), () => paused.ledgerFlusher!.flush().then(() => undefined));
      progress(`paused flush, ${tenants} tenant(s), c=64: ${fmt(a)} vs ${fmt(b)} (${q.toFixed(2)}x)`);
      pausedRows.push([`credit charge, ${tenants === 1 ? "one hot tenant" : "100 tenants"}, concurrency 64, flush paused`, fmt(a), fmt(b), `${q.toFixed(2)}x`, "-"]);
    }
    await paused.ledgerFlusher!.flush();

    // The script's own time on the server per charge (INFO commandstats), flush paused: what
    // queueing the entry adds inside the one round trip.
    const serverTime = async (s: typeof redisOnly, tenant: string): Promise<number> => {
      await client.config("RESETSTAT");
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let k = 0; k < 500; k++) await charge(s, tenant);
      }));
      const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await client.info("commandstats"));
      return m ? Number(m[2]) / Number(m[1]) : NaN;
    };
    const usRedis: number[] = [];
    const usQueued: number[] = [];
    for (let r = 0; r < 3; r++) {
      usQueued.push(await serverTime(paused, "hot-paused"));
      usRedis.push(await serverTime(redisOnly, "hot"));
      await paused.ledgerFlusher!.flush();
    }
    progress(`script time per charge: ${median(usQueued).toFixed(2)} µs vs ${median(usRedis).toFixed(2)} µs`);
    // The ledger holds exactly what was charged: every entry once.
    const hot = await pg.ledger().balance("hot");
    const inRedis = await fronted.credits.balance("hot", 1e12);

    const table = (head: string[], body: string[][]) => {
      const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
      const line = (r: string[]) => `| ${r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join(" | ")} |`;
      return [line(head), `|${widths.map((w, k) => (k === 0 ? ":" : "-") + "-".repeat(w) + (k === 0 ? "-" : ":")).join("|")}|`, ...body.map(line)].join("\n");
    };
    console.log(`\n@alloovium/redis ledger benchmark — ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, Redis ${redisVersion}, PostgreSQL ${pg.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}\n`);
    console.log(table(["charges/s (bucket + charge, one script)", "Redis + PostgreSQL", "Redis only", "ratio", "flush lag ms p50 / p99 / max"], [...rows, ...pausedRows]));
    console.log(`\nScript time on the server per charge (INFO commandstats, median of 3 x 8,000): Redis + PostgreSQL ${median(usQueued).toFixed(2)} µs, Redis only ${median(usRedis).toFixed(2)} µs.`);
    const min = Math.min(...ratios);
    console.log(`\nGoal Redis + PostgreSQL >= 0.9x Redis only: ${min >= 0.9 ? "met" : "NOT met"} (lowest ratio ${min.toFixed(2)}x).`);
    const p99 = quantile(lagAt64, 0.99);
    console.log(`Goal flush lag < 1 s at concurrency 64: ${p99 < 1000 ? "met" : "NOT met"} (p99 ${p99} ms, max ${lagAt64.reduce((m, x) => Math.max(m, x), 0)} ms).`);
    console.log(`Hot tenant after the run: ledger ${hot}, Redis ${inRedis} (${hot === inRedis ? "equal" : "DIFFERENT"}).`);
  } finally {
    await fronted.ledgerFlusher?.stop();
    await deleteKeys(client, prefix).catch(() => 0);
    client.disconnect();
    await pg.close();
    await server?.destroy();
  }
}

await main();

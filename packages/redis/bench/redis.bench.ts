/**
 * Benchmark: @alloovium/redis against rate-limiter-flexible (RateLimiterRedis, weighted
 * consume) and @node-idempotency/core with its Redis storage adapter, in one run against one
 * Redis. Throughput in ops/s (medians of alternated runs) and the median ratio of runs next to
 * each other; the scripts' server time per call (INFO commandstats) for the buckets; round trips
 * per request counted on the server (MONITOR, leaving out commands run inside scripts).
 *
 * Runs against a private redis-server on a free port when `redis-server` is on PATH (quiet and
 * unshared, so MONITOR counts only this run), else against BENCH_REDIS_URL / REDIS_URL.
 * Bounded: about 35 s. Run: `pnpm --filter @alloovium/redis bench` (builds dist first).
 */
import { randomBytes } from "node:crypto";
import { createHash } from "node:crypto";
import { Idempotency } from "@node-idempotency/core";
import { RedisStorageAdapter } from "@node-idempotency/storage-adapter-redis";
import { Redis } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { deleteKeys, hasRedisServer, RedisServer } from "../test/redis-server";
import { RoundTripCounter } from "../test/round-trips";

// The built package (as users run it), not the TypeScript source through tsx: `pnpm bench`
// builds it first. BENCH_SOURCE=1 measures src instead.
const entry = process.env.BENCH_SOURCE ? "../src/index.ts" : "../dist/index.js";
const { createRedisStores } = (await import(entry)) as typeof import("../src/index");

const WARMUP_MS = 100;
const ROUNDS = 6;
const BUCKET_MS = 500;
const POST_MS = 350;

/** Server time of the scripts (`evalsha`, `eval`, `fcall`) over a measured run, from `INFO commandstats`. */
interface ServerTime {
  calls: number;
  usec: number;
}

let admin: Redis | undefined; // a connection of the bench's own, for CONFIG RESETSTAT and INFO

async function scriptStats(): Promise<ServerTime> {
  const info = admin ? await admin.info("commandstats") : "";
  const out = { calls: 0, usec: 0 };
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval|fcall):calls=(\d+),usec=(\d+)/gm)) {
    out.calls += Number(m[2]);
    out.usec += Number(m[3]);
  }
  return out;
}

// One counter for every run, so that a "new key" op never reuses a key of an earlier run.
let i = 0;

async function measure(concurrency: number, durationMs: number, op: (i: number) => Promise<unknown>, server?: ServerTime): Promise<number> {
  const loop = async (until: number, count: { n: number }) => {
    while (Date.now() < until) {
      await op(i++);
      count.n++;
    }
  };
  const warm = { n: 0 };
  const warmUntil = Date.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: concurrency }, () => loop(warmUntil, warm)));
  if (server) await admin?.config("RESETSTAT");
  const count = { n: 0 };
  const start = performance.now();
  const until = Date.now() + durationMs;
  await Promise.all(Array.from({ length: concurrency }, () => loop(until, count)));
  const rate = count.n / ((performance.now() - start) / 1000);
  if (server) {
    const s = await scriptStats();
    server.calls += s.calls;
    server.usec += s.usec;
  }
  return rate;
}

/**
 * `rounds` pairs of runs, A then B in even rounds and B then A in odd ones, so neither side gains
 * from running second or from a quiet moment of a shared machine: each side's median throughput
 * and the median of the rounds' ratios (A/B of runs next to each other). With `server`, also each
 * side's script time on the server per call (µs, over all its runs).
 */
async function compare(
  concurrency: number,
  durationMs: number,
  a: (i: number) => Promise<unknown>,
  b: (i: number) => Promise<unknown>,
  server?: [ServerTime, ServerTime],
  rounds = ROUNDS,
): Promise<[number, number, number]> {
  const as: number[] = [];
  const bs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = await measure(concurrency, durationMs, a, server?.[0]);
      y = await measure(concurrency, durationMs, b, server?.[1]);
    } else {
      y = await measure(concurrency, durationMs, b, server?.[1]);
      x = await measure(concurrency, durationMs, a, server?.[0]);
    }
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  return [median(as), median(bs), median(ratios)];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const perCall = (t: ServerTime) => (t.calls > 0 ? `${(t.usec / t.calls).toFixed(2)} µs` : "-");

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const show = (calls: Record<string, number>) => `${total(calls)} (${Object.entries(calls).map(([k, v]) => `${k}${v > 1 ? `x${v}` : ""}`).join(", ") || "-"})`;

const progress = (m: string) => process.stderr.write(`[bench] ${m}\n`);

async function main(): Promise<void> {
  const server = !process.env.BENCH_REDIS_URL && hasRedisServer() ? await RedisServer.start() : null;
  const url = server?.url ?? process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  progress(`redis at ${url}`);
  const prefix = `alloovium-bench-${randomBytes(4).toString("hex")}`;
  const ours = new Redis(url);
  const theirs = new Redis(url);
  admin = new Redis(url);
  const stores = createRedisStores({ client: ours, keyPrefix: prefix, commandTimeoutMs: 5000 });
  const rlf = new RateLimiterRedis({ storeClient: theirs, keyPrefix: `${prefix}-rlf`, points: 1e12, duration: 3600 });
  const adapter = new RedisStorageAdapter({ url });
  await adapter.connect();
  progress("connected");
  const nodeIdem = new Idempotency(adapter, { cacheKeyPrefix: `${prefix}-ni`, cacheTTLMS: 86_400_000 });
  const redisVersion = /redis_version:(\S+)/.exec(await ours.info("server"))?.[1] ?? "?";

  try {
    // --- Token bucket, weighted (cost 3), 100 buckets, always allowed.
    const limits = { capacity: 1e12, refillPerSecond: 1e9 };
    const bucketRows: string[][] = [];
    const bucketRatios: number[] = [];
    const serverRows: string[][] = [];
    for (const c of [1, 64]) {
      const server: [ServerTime, ServerTime] = [{ calls: 0, usec: 0 }, { calls: 0, usec: 0 }];
      const [a, b, q] = await compare(
        c,
        BUCKET_MS,
        (i) => stores.buckets.consume({ tenantId: "bench", id: `key:${i % 100}` }, 3, limits),
        (i) => rlf.consume(`key:${i % 100}`, 3),
        server,
      );
      progress(`bucket c=${c}: ${fmt(a)} vs ${fmt(b)} (${q.toFixed(2)}x); server ${perCall(server[0])} vs ${perCall(server[1])} per call`);
      bucketRatios.push(q);
      bucketRows.push([`bucket consume(cost 3), concurrency ${c}`, fmt(a), fmt(b), `${q.toFixed(2)}x`]);
      serverRows.push([`bucket consume(cost 3), concurrency ${c}`, perCall(server[0]), perCall(server[1])]);
    }

    // --- Idempotent POST decision path. Ours: admission (bucket + claim, one script) then
    // complete; theirs: onRequest then onResponse. Replay: the first step only.
    const body = { name: "Downtown Tower", budget: 125000, tags: ["a", "b"] };
    const response = { status: 201, headers: { "content-type": "application/json", location: "/api/v2/vault/projects/1" }, body: '{"id":"1","name":"Downtown Tower"}' };
    const postLimits = { capacity: 1e12, refillPerSecond: 1e9 };
    const ourPost = async (key: string, complete: boolean) => {
      const fingerprint = createHash("sha256").update(`POST\n/api/v2/vault/projects\n${JSON.stringify(body)}`).digest("hex"); // what a claim carries: a fingerprint of the request
      const ref = { tenantId: "bench", scope: "user-1:live", key };
      const a = await stores.admission.admit({ bucket: { tenantId: "bench", id: "key:post" }, cost: 1, limits: postLimits, claim: { ref, fingerprint, leaseMs: 60_000 } });
      if (complete && a.claim?.outcome === "claimed") await stores.idempotency.complete(ref, a.claim.token, response, { ttlMs: 86_400_000 });
      return a;
    };
    const theirReq = (key: string) => ({ headers: { "idempotency-key": key }, path: "/api/v2/vault/projects", method: "POST", body });
    const theirPost = async (key: string, complete: boolean) => {
      const req = theirReq(key);
      const r = await nodeIdem.onRequest(req);
      if (complete && r === undefined) await nodeIdem.onResponse(req, { body: response.body, additional: { status: 201, headers: response.headers } });
      return r;
    };
    for (let i = 0; i < 100; i++) {
      await ourPost(`replay-${i}`, true);
      await theirPost(`replay-${i}`, true);
    }
    progress("POST warm-up done");
    const postRows: string[][] = [];
    for (const c of [1, 16]) {
      const run = `${randomBytes(3).toString("hex")}-${c}`;
      const [a, b, q] = await compare(c, POST_MS, (i) => ourPost(`fresh-${run}-a-${i}`, true), (i) => theirPost(`fresh-${run}-b-${i}`, true));
      postRows.push([`idempotent POST, new key (claim + complete), concurrency ${c}`, fmt(a), fmt(b), `${q.toFixed(2)}x`]);
      const [ra, rb, rq] = await compare(c, POST_MS, (i) => ourPost(`replay-${i % 100}`, false), (i) => theirPost(`replay-${i % 100}`, false));
      progress(`POST c=${c} done`);
      postRows.push([`idempotent POST, replay, concurrency ${c}`, fmt(ra), fmt(rb), `${rq.toFixed(2)}x`]);
    }

    // --- Round trips per request, counted by the server.
    const counter = await RoundTripCounter.start(ours);
    const rt = (run: () => Promise<unknown>) => counter.count(ours, run);
    const k = `rt-${randomBytes(3).toString("hex")}`;
    let token = "";
    const ref = { tenantId: "bench", scope: "user-1:live", key: k };
    const rtRows = [
      ["bucket decision", show(await rt(() => stores.buckets.consume({ tenantId: "bench", id: "key:rt" }, 3, limits))), show(await rt(() => rlf.consume("key:rt", 3))), "1"],
      [
        "idempotent POST, new key: before the handler",
        show(
          await rt(async () => {
            const a = await stores.admission.admit({ bucket: { tenantId: "bench", id: "key:rt" }, cost: 1, limits: postLimits, claim: { ref, fingerprint: "f", leaseMs: 60_000 } });
            if (a.claim?.outcome === "claimed") token = a.claim.token;
          }),
        ),
        show(await rt(() => nodeIdem.onRequest(theirReq(k)))),
        "1",
      ],
      [
        "idempotent POST, new key: after the handler",
        show(await rt(() => stores.idempotency.complete(ref, token, response, { ttlMs: 86_400_000 }))),
        show(await rt(() => nodeIdem.onResponse(theirReq(k), { body: response.body, additional: { status: 201 } }))),
        "1",
      ],
      [
        "idempotent POST, replay",
        show(await rt(() => stores.admission.admit({ bucket: { tenantId: "bench", id: "key:rt" }, cost: 1, limits: postLimits, claim: { ref, fingerprint: "f", leaseMs: 60_000 } }))),
        show(await rt(() => nodeIdem.onRequest(theirReq(k)))),
        "1",
      ],
      [
        "metered idempotent POST (bucket + claim + charge): before the handler",
        show(
          await rt(() =>
            stores.admission.admit({
              bucket: { tenantId: "bench", id: "key:rt" }, cost: 1, limits: postLimits,
              claim: { ref: { ...ref, key: `${k}-metered` }, fingerprint: "f", leaseMs: 60_000 },
              charge: { capability: "vault.projects.create", credits: 2, grant: 1e12 },
            }),
          ),
        ),
        "-",
        "1",
      ],
      [
        "metered call without a key (bucket + charge)",
        show(await rt(() => stores.admission.admit({ bucket: { tenantId: "bench", id: "key:rt" }, cost: 1, limits: postLimits, charge: { capability: "vault.projects.list", credits: 1, grant: 1e12 } }))),
        "-",
        "1",
      ],
    ];
    counter.stop();

    const table = (head: string[], rows: string[][]) => {
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
      return [line(head), `|${widths.map((w, i) => (i === 0 ? ":" : "-") + "-".repeat(w) + (i === 0 ? "-" : ":")).join("|")}|`, ...rows.map(line)].join("\n");
    };
    console.log(`\n@alloovium/redis benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, Redis ${redisVersion} (${server ? "private local server" : url})\n`);
    console.log(table(["throughput (ops/s)", "@alloovium/redis", "other", "ratio"], [
      ...bucketRows.map((r) => [r[0]!, r[1]!, `${r[2]} (rate-limiter-flexible)`, r[3]!]),
      ...postRows.map((r) => [r[0]!, r[1]!, `${r[2]} (@node-idempotency)`, r[3]!]),
    ]));
    console.log("\n" + table(["script time on the server per call (INFO commandstats, evalsha)", "@alloovium/redis", "rate-limiter-flexible"], serverRows));
    console.log("\n" + table(["round trips per request (server-side)", "@alloovium/redis", "other", "goal"], rtRows));
    const min = Math.min(...bucketRatios);
    console.log(`\nGoal bucket throughput >= 1.0x rate-limiter-flexible: ${min >= 1 ? "met" : "NOT met"} (lowest ratio ${min.toFixed(2)}x).`);
  } finally {
    await deleteKeys(ours, prefix).catch(() => 0);
    ours.disconnect();
    theirs.disconnect();
    admin.disconnect();
    await adapter.disconnect();
    await server?.destroy();
  }
}

await main();

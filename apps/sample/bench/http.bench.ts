/**
 * HTTP benchmark of the sample app: per framework, `GET /api/v2/me` through the full policy
 * (memory stores) against the same framework serving the same JSON with no policy, measured in
 * one run with autocannon on 127.0.0.1. Goal: policy req/s >= 0.85 x bare req/s.
 *
 * Servers run in a child process (one core for them, one for autocannon). Runs are interleaved
 * A-B-B-A per round to spread drift (thermal, GC, neighbours) over both variants.
 *
 * Env: BENCH_DURATION (s, default 5), BENCH_WARMUP (s, default 1), BENCH_CONNECTIONS (10),
 * BENCH_ROUNDS (2; round i runs bare then policy, or policy then bare when i is odd), BENCH_KEYS
 * (enterprise keys in the pool, default 32), BENCH_FRAMEWORKS (comma list, default all),
 * BENCH_SINGLE_KEY (1 to also measure one enterprise key alone and report its 429 share).
 *
 * Why a pool of keys: one enterprise bucket holds 12,000 tokens and refills 200/s, so a single key
 * at several thousand req/s runs dry within seconds and the run would measure 429 answers. The
 * sample app takes no tier overrides, so the bench spreads the same requests over enough
 * enterprise keys (round robin, one bucket each) that none runs out; the work per request is the
 * same. The bare app receives the very same requests (same Authorization headers) and ignores them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { generateApiKey } from "@alloovium/core";
import autocannon from "autocannon";
import { startServer, type Framework, type SeedFile } from "../src/server";

const ME = "/api/v2/me";
const ALL: readonly Framework[] = ["hono", "express", "koa"];

function envNumber(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new TypeError(`${name} must be a number >= ${min}, got ${raw}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Child: serve one app and print `{url, ...}` as one JSON line.

interface Served {
  readonly url: string;
  readonly keys: readonly string[];
  readonly single: string;
  readonly me: unknown;
}

/**
 * The same framework answering the same JSON with no policy. Each writes its body the way the
 * sample app's binding does (src/frameworks/*.ts: Hono `c.json`; Express with ETag off and
 * `end(JSON.stringify(...))`; Koa with a string body and `application/json`), so that the ratio
 * measures the policy and not a difference in serialization.
 */
async function bareListener(framework: Framework, body: unknown): Promise<RequestListener> {
  const json = body as Record<string, unknown>;
  if (framework === "hono") {
    const { Hono } = await import("hono");
    const { getRequestListener } = await import("@hono/node-server");
    const app = new Hono();
    app.get(ME, (c) => c.json(json));
    return getRequestListener(app.fetch);
  }
  if (framework === "express") {
    const { default: express } = await import("express");
    const app = express();
    app.disable("x-powered-by");
    app.disable("etag");
    app.get(ME, (_req, res) => {
      res.status(200).setHeader("content-type", "application/json").end(JSON.stringify(json));
    });
    return app as unknown as RequestListener;
  }
  const { default: Koa } = await import("koa");
  const { default: Router } = await import("@koa/router");
  const app = new Koa();
  const router = new Router();
  router.get(ME, (ctx) => {
    ctx.status = 200;
    ctx.set("Content-Type", "application/json");
    ctx.body = JSON.stringify(json);
  });
  app.use(router.routes());
  return app.callback();
}

async function serve(framework: Framework, kind: "policy" | "bare", poolSize: number, meJson: string | undefined): Promise<void> {
  const tenant = randomUUID();
  const user = randomUUID();
  const keys = Array.from({ length: poolSize }, () => generateApiKey("live"));
  const single = generateApiKey("live");
  let close: () => Promise<void>;
  let url: string;
  let me: unknown = meJson ? JSON.parse(meJson) : undefined;
  if (kind === "policy") {
    const seed: SeedFile = {
      tenants: [{ id: tenant, name: "Bench" }],
      users: [{ id: user, tenant_id: tenant, email: "bench@example.com" }],
      api_keys: [...keys, single].map((key, i) => ({
        id: randomUUID(),
        user_id: user,
        name: `Bench ${i}`,
        key,
        rate_limit_tier: "enterprise" as const,
        scopes: ["vault:read", "vault:write"],
      })),
    };
    const running = await startServer({ framework, port: 0, seed, pepper: "bench-pepper-not-for-production", log: () => {} });
    url = running.url;
    close = () => running.close();
    const res = await fetch(`${url}${ME}`, { headers: { authorization: `Bearer ${keys[0]}` } });
    me = await res.json();
  } else {
    const server = createServer(await bareListener(framework, me));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  }
  const served: Served = { url, keys, single, me };
  process.stdout.write(`${JSON.stringify(served)}\n`);
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
}

// ---------------------------------------------------------------------------------------------
// Parent: start the servers, drive autocannon, print the figures.

interface Child {
  readonly proc: ChildProcess;
  readonly served: Served;
}

function startChild(framework: Framework, kind: "policy" | "bare", poolSize: number, me?: unknown): Promise<Child> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "serve", framework, kind, String(poolSize)];
  if (me !== undefined) args.push(JSON.stringify(me));
  const proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once("line", (line) => resolve({ proc, served: JSON.parse(line) as Served }));
    proc.once("exit", (code) => reject(new Error(`${framework}/${kind} server exited with ${code}`)));
  });
}

function stopChild(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null) return resolve();
    child.proc.once("exit", () => resolve());
    child.proc.kill("SIGTERM");
  });
}

interface Run {
  readonly rps: number;
  readonly total: number;
  readonly non2xx: number;
  readonly statuses: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

async function cannon(url: string, keys: readonly string[], seconds: number, connections: number): Promise<Run> {
  // Static requests (pre-built by autocannon); each connection cycles through the key pool.
  const requests = keys.map((k) => ({ method: "GET" as const, path: ME, headers: { authorization: `Bearer ${k}`, accept: "application/json" } }));
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, requests });
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = (s as { count: number }).count;
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: total / seconds,
    total,
    non2xx: r.non2xx,
    statuses,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  const duration = envNumber("BENCH_DURATION", 5, 1);
  const warmup = envNumber("BENCH_WARMUP", 1, 0);
  const connections = envNumber("BENCH_CONNECTIONS", 10, 1);
  const rounds = envNumber("BENCH_ROUNDS", 2, 1);
  const poolSize = envNumber("BENCH_KEYS", 32, 1);
  const single = process.env.BENCH_SINGLE_KEY === "1";
  const only = process.env.BENCH_FRAMEWORKS?.split(",").map((s) => s.trim()).filter(Boolean);
  const frameworks = only?.length ? ALL.filter((f) => only.includes(f)) : ALL;

  console.log(
    `http bench: GET ${ME}, ${connections} connections, ${warmup} s warm-up, ${rounds} x ${duration} s per variant (interleaved), ` +
      `${poolSize} enterprise keys round robin; node ${process.version}, ${new Date().toISOString()}`,
  );
  const rows: { framework: Framework; bare: number; policy: number; ratio: number; note: string }[] = [];
  for (const framework of frameworks) {
    const policy = await startChild(framework, "policy", poolSize);
    const bare = await startChild(framework, "bare", poolSize, policy.served.me);
    try {
      const keys = policy.served.keys;
      if (warmup > 0) {
        await cannon(bare.served.url, keys, warmup, connections);
        await cannon(policy.served.url, keys, warmup, connections);
      }
      const runs: Record<"bare" | "policy", Run[]> = { bare: [], policy: [] };
      for (let i = 0; i < rounds; i++) {
        const order: ("bare" | "policy")[] = i % 2 === 0 ? ["bare", "policy"] : ["policy", "bare"];
        for (const kind of order) {
          const url = kind === "bare" ? bare.served.url : policy.served.url;
          runs[kind].push(await cannon(url, keys, duration, connections));
        }
      }
      // The median of the runs: one run disturbed by a neighbour process does not move it.
      const median = (rs: Run[]) => {
        const v = rs.map((r) => r.rps).sort((x, y) => x - y);
        const mid = Math.floor(v.length / 2);
        return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
      };
      const b = median(runs.bare);
      const p = median(runs.policy);
      const policyNon2xx = runs.policy.reduce((a, r) => a + r.non2xx, 0);
      const policyTotal = runs.policy.reduce((a, r) => a + r.total, 0);
      const errors = [...runs.bare, ...runs.policy].reduce((a, r) => a + r.errors, 0);
      for (const kind of ["bare", "policy"] as const) {
        for (const [i, r] of runs[kind].entries()) {
          console.log(
            `  ${framework.padEnd(7)} ${kind.padEnd(6)} run ${i + 1}: ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  statuses ${JSON.stringify(r.statuses)}`,
          );
        }
      }
      let note = policyNon2xx > 0 ? `policy non-2xx: ${((100 * policyNon2xx) / policyTotal).toFixed(2)}%` : "no 429";
      if (errors > 0) note += `, ${errors} socket errors/timeouts`;
      // What one enterprise key could sustain over a measured run, for the record.
      const singleBudget = 12_000 + 200 * (duration + warmup);
      if (p * duration > singleBudget) note += `; one key would run dry (${fmt(p * duration)} req > ${fmt(singleBudget)} tokens)`;
      if (single) {
        const s = await cannon(policy.served.url, [policy.served.single], duration, connections);
        const limited = s.statuses["429"] ?? 0;
        note += `; single key: ${fmt(s.rps)} req/s, 429 share ${((100 * limited) / Math.max(1, s.total)).toFixed(1)}%`;
      }
      rows.push({ framework, bare: b, policy: p, ratio: p / b, note });
    } finally {
      await stopChild(policy);
      await stopChild(bare);
    }
  }
  console.log("");
  console.log("framework  bare req/s  policy req/s  ratio  goal >= 0.85   (medians of the runs)");
  for (const r of rows) {
    console.log(
      `${r.framework.padEnd(9)}  ${fmt(r.bare).padStart(10)}  ${fmt(r.policy).padStart(12)}  ${r.ratio.toFixed(2).padStart(5)}  ${r.ratio >= 0.85 ? "met" : "NOT met"}  (${r.note})`,
    );
  }
}

const [, , mode, fw, kind, pool, me] = process.argv;
if (mode === "serve") {
  await serve(fw as Framework, kind as "policy" | "bare", Number(pool), me);
} else {
  await main();
}

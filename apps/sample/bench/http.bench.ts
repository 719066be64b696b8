/**
 * HTTP benchmark of the sample app: per framework, `GET /api/v2/me` through the full policy
 * (memory stores; "ours") against the same framework serving the same JSON with no policy
 * ("bare") and against what a careful user assembles from popular packages ("peer": bearer auth
 * with an HMAC digest lookup plus the framework's popular rate limiter, see bench/peers.ts),
 * measured in one run with autocannon on 127.0.0.1.
 * Goals (issue 11): ours >= 1.2 x peer, and ours >= 0.75 x bare on Hono, 0.80 on Koa, 0.90 on Express;
 * (issue 13) 0.85 on Fastify and NestJS.
 *
 * Servers run in child processes (one core for them, one for autocannon). The variants alternate
 * within each round, bare-peer-ours on even rounds and ours-peer-bare on odd ones, so that a
 * drift over the run (thermal, GC, neighbours) weighs on each variant alike.
 *
 * Env: BENCH_DURATION (s, default 5), BENCH_WARMUP (s, default 1), BENCH_CONNECTIONS (10),
 * BENCH_ROUNDS (2), BENCH_KEYS (enterprise keys in the pool, default 32), BENCH_FRAMEWORKS (comma
 * list, default all), BENCH_SINGLE_KEY (1 to also measure one enterprise key alone on ours and
 * report its 429 share).
 *
 * Why a pool of keys: one enterprise bucket holds 12,000 tokens and refills 200/s, so a single key
 * at several thousand req/s runs dry within seconds and the run would measure 429 answers. The
 * sample app takes no tier overrides, so the bench spreads the same requests over enough
 * enterprise keys (round robin, one bucket each) that none runs out; the work per request is the
 * same. The bare and peer apps receive the very same requests (same Authorization headers); the
 * peers limit each key to 12,000 per 60 s window, and any non-2xx answer is printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { generateApiKey } from "@alloovium/core";
import autocannon from "autocannon";
import { startServer, type Framework, type SeedFile } from "../src/server";
import { ME, bareListener, peerListener, type PeerKey } from "./peers";
import { profileKinds, startProfiling, type ProfileKind } from "./profile";

const ALL: readonly Framework[] = ["hono", "express", "koa", "fastify", "nestjs"];
const VARIANTS = ["bare", "peer", "ours"] as const;
type Variant = (typeof VARIANTS)[number];

/** Issue 11's floors for ours / bare, per framework; ours / peer is 1.2 everywhere. */
const BARE_GOAL: Record<Framework, number> = { hono: 0.75, express: 0.9, koa: 0.8, fastify: 0.85, nestjs: 0.85 };
const PEER_GOAL = 1.2;

const PEPPER = "bench-pepper-not-for-production";

function envNumber(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new TypeError(`${name} must be a number >= ${min}, got ${raw}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Child: read its configuration as one JSON line on stdin, serve one app, print `Served` as one
// JSON line; stop when stdin ends or on SIGTERM.

/** What the parent sends a child. */
interface ChildConfig {
  readonly framework: Framework;
  readonly variant: Variant;
  /** ours: how many enterprise keys to mint. */
  readonly poolSize?: number;
  /** bare: the JSON to answer. */
  readonly me?: unknown;
  /** peer: the keys and the principal of each. */
  readonly keys?: readonly PeerKey[];
  /** Profile this server (bench/profile.ts) into `dir`. */
  readonly profile?: { readonly kinds: readonly ProfileKind[]; readonly dir: string };
}

interface Served {
  readonly url: string;
  /** ours: the pool's raw keys, and one more for BENCH_SINGLE_KEY. */
  readonly keys?: readonly string[];
  readonly single?: string;
}

async function serveOurs(framework: Framework, poolSize: number): Promise<{ served: Served; close: () => Promise<void> }> {
  const tenant = randomUUID();
  const user = randomUUID();
  const keys = Array.from({ length: poolSize }, () => generateApiKey("live"));
  const single = generateApiKey("live");
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
  const running = await startServer({ framework, port: 0, seed, pepper: PEPPER, log: () => {}, requestLog: false });
  return { served: { url: running.url, keys, single }, close: () => running.close() };
}

async function serve(config: ChildConfig): Promise<{ served: Served; close: () => Promise<void> }> {
  if (config.variant === "ours") return serveOurs(config.framework, config.poolSize ?? 1);
  const listener =
    config.variant === "bare" ? await bareListener(config.framework, config.me) : await peerListener(config.framework, PEPPER, config.keys ?? []);
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    served: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function child(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const first = await new Promise<string>((resolve) => lines.once("line", resolve));
  const config = JSON.parse(first) as ChildConfig;
  const { served, close } = await serve(config);
  const { profile } = config;
  const stopProfiling = profile ? await startProfiling(profile.kinds, profile.dir, `${config.framework}-${config.variant}`) : undefined;
  process.stdout.write(`${JSON.stringify(served)}\n`);
  const stop = async () => {
    await close();
    for (const file of (await stopProfiling?.()) ?? []) process.stderr.write(`  profile written: ${file}\n`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  lines.once("close", () => void stop());
}

// ---------------------------------------------------------------------------------------------
// Parent: start the servers, drive autocannon, print the figures.

interface Child {
  readonly proc: ChildProcess;
  readonly served: Served;
}

function startChild(config: ChildConfig): Promise<Child> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), "serve"];
  const proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  proc.stdin!.write(`${JSON.stringify(config)}\n`);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once("line", (line) => resolve({ proc, served: JSON.parse(line) as Served }));
    proc.once("exit", (code) => reject(new Error(`${config.framework}/${config.variant} server exited with ${code}`)));
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
  /** The server process's CPU time (user + system, all threads) per answered request, in µs; NaN where /proc is missing. */
  readonly cpuUs: number;
  readonly total: number;
  readonly non2xx: number;
  readonly statuses: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** CPU time of process `pid` so far in µs (utime + stime of /proc/<pid>/stat), or NaN off Linux. */
function cpuTimeUs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the name in parentheses may hold spaces
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
// USER_HZ: 100 on every Linux architecture Node runs on.
const CLOCK_TICKS = 100;

/**
 * One autocannon run against `url`. Besides req/s, the CPU the server spent per request: on a VM
 * shared with other jobs, req/s swings with the neighbours, while CPU per request moves much less.
 */
async function cannon(url: string, keys: readonly string[], seconds: number, connections: number, pid?: number): Promise<Run> {
  // Static requests (pre-built by autocannon); each connection cycles through the key pool.
  const requests = keys.map((k) => ({ method: "GET" as const, path: ME, headers: { authorization: `Bearer ${k}`, accept: "application/json" } }));
  const cpuBefore = cpuTimeUs(pid);
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1, requests });
  const cpu = cpuTimeUs(pid) - cpuBefore;
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statuses[code] = (s as { count: number }).count;
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    rps: total / seconds,
    cpuUs: cpu / Math.max(1, total),
    total,
    non2xx: r.non2xx,
    statuses,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
  };
}

/** `GET /me` with `key`: status and body text. */
async function me(url: string, key: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${ME}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, text: await res.text() };
}

/** Throws unless every variant answers a pool key with ours's exact body, and refuses an unknown key. */
async function checkSameAnswers(framework: Framework, urls: Record<Variant, string>, keys: readonly string[], texts: readonly string[]): Promise<void> {
  const unknown = generateApiKey("live");
  for (const variant of ["peer", "ours"] as const) {
    const refused = await me(urls[variant], unknown);
    if (refused.status !== 401) throw new Error(`${framework}/${variant}: an unknown key got ${refused.status}, not 401`);
  }
  for (const [i, key] of [keys[0]!, keys[keys.length - 1]!].entries()) {
    const expected = i === 0 ? texts[0] : texts[texts.length - 1];
    for (const variant of ["peer", "ours"] as const) {
      const got = await me(urls[variant], key);
      if (got.status !== 200 || got.text !== expected) throw new Error(`${framework}/${variant}: /me answered ${got.status} ${got.text}, not ours's body`);
    }
  }
  const bare = await me(urls.bare, keys[0]!);
  if (bare.status !== 200 || bare.text !== texts[0]) throw new Error(`${framework}/bare: /me answered ${bare.status} ${bare.text}, not ours's body`);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// The median: one run disturbed by a neighbour process does not move it.
function median(values: readonly number[]): number {
  const v = [...values].sort((x, y) => x - y);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

interface Row {
  readonly framework: Framework;
  /** Medians of the runs. */
  readonly rps: Record<Variant, number>;
  readonly cpuUs: Record<Variant, number>;
  /** Ours / bare and ours / peer: ratios of the req/s medians, medians of the per-round ratios, and CPU ratios (their CPU per request over ours). */
  readonly vsBare: Ratios;
  readonly vsPeer: Ratios;
  readonly note: string;
}

interface Ratios {
  readonly medians: number;
  readonly rounds: number;
  readonly cpu: number;
}

interface BenchOptions {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  readonly rounds: number;
  readonly poolSize: number;
  readonly single: boolean;
  readonly profile: { readonly kinds: readonly ProfileKind[]; readonly dir: string } | undefined;
}

function ratios(runs: Record<Variant, Run[]>, other: "bare" | "peer"): Ratios {
  const m = (v: Variant, f: (r: Run) => number) => median(runs[v].map(f));
  return {
    medians: m("ours", (r) => r.rps) / m(other, (r) => r.rps),
    rounds: median(runs.ours.map((r, i) => r.rps / runs[other][i]!.rps)),
    cpu: m(other, (r) => r.cpuUs) / m("ours", (r) => r.cpuUs),
  };
}

async function benchFramework(framework: Framework, opts: BenchOptions): Promise<Row> {
  const { duration, warmup, connections, rounds, poolSize } = opts;
  const children: Child[] = [];
  try {
    const ours = await startChild({ framework, variant: "ours", poolSize, ...(opts.profile ? { profile: opts.profile } : {}) });
    children.push(ours);
    const keys = ours.served.keys!;
    // The peers answer each key's principal exactly as ours does: ask ours once per key.
    const texts: string[] = [];
    for (const key of keys) {
      const r = await me(ours.served.url, key);
      if (r.status !== 200) throw new Error(`${framework}/ours: /me answered ${r.status} ${r.text}`);
      texts.push(r.text);
    }
    const principals: PeerKey[] = keys.map((key, i) => ({ key, principal: JSON.parse(texts[i]!) as PeerKey["principal"] }));
    const profile = opts.profile ? { profile: opts.profile } : {};
    const bare = await startChild({ framework, variant: "bare", me: principals[0]!.principal, ...profile });
    children.push(bare);
    const peer = await startChild({ framework, variant: "peer", keys: principals, ...profile });
    children.push(peer);
    const servers: Record<Variant, Child> = { bare, peer, ours };
    const urls: Record<Variant, string> = { bare: bare.served.url, peer: peer.served.url, ours: ours.served.url };
    await checkSameAnswers(framework, urls, keys, texts);
    // Requests each server answered, for the profiles' per-request figures: the principals and the checks above first.
    const served: Record<Variant, number> = { bare: 1, peer: 4, ours: keys.length + 4 };

    if (warmup > 0) {
      for (const v of VARIANTS) {
        served[v] += (await cannon(urls[v], keys, warmup, connections)).total;
      }
    }
    const runs: Record<Variant, Run[]> = { bare: [], peer: [], ours: [] };
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) runs[v].push(await cannon(urls[v], keys, duration, connections, servers[v].proc.pid));
      const [b, p, o] = VARIANTS.map((v) => runs[v][i]!) as [Run, Run, Run];
      const odd = VARIANTS.filter((v) => runs[v][i]!.non2xx > 0 || runs[v][i]!.errors > 0)
        .map((v) => ` ${v} ${JSON.stringify(runs[v][i]!.statuses)}${runs[v][i]!.errors ? ` ${runs[v][i]!.errors} errors` : ""}`)
        .join("");
      console.log(
        `  ${framework.padEnd(7)} round ${String(i + 1).padStart(2)}: req/s bare ${fmt(b.rps).padStart(6)}  peer ${fmt(p.rps).padStart(6)}  ours ${fmt(o.rps).padStart(6)}` +
          `  ours/bare ${(o.rps / b.rps).toFixed(2)}  ours/peer ${(o.rps / p.rps).toFixed(2)}` +
          `  | server CPU µs/req ${us(b.cpuUs)}/${us(p.cpuUs)}/${us(o.cpuUs)}  | p99 ms ${b.p99}/${p.p99}/${o.p99}${odd ? `  non-2xx:${odd}` : ""}`,
      );
    }
    for (const v of VARIANTS) served[v] += runs[v].reduce((a, r) => a + r.total, 0);
    const med = (f: (r: Run) => number) => ({ bare: median(runs.bare.map(f)), peer: median(runs.peer.map(f)), ours: median(runs.ours.map(f)) });
    const rps = med((r) => r.rps);
    const notes: string[] = [];
    for (const v of VARIANTS) {
      const non2xx = runs[v].reduce((a, r) => a + r.non2xx, 0);
      const total = runs[v].reduce((a, r) => a + r.total, 0);
      const errors = runs[v].reduce((a, r) => a + r.errors, 0);
      if (non2xx > 0) notes.push(`${v} non-2xx ${((100 * non2xx) / total).toFixed(2)}%`);
      if (errors > 0) notes.push(`${v} ${errors} socket errors/timeouts`);
    }
    if (notes.length === 0) notes.push("all 200");
    // What one enterprise key could sustain over a measured run, for the record.
    const singleBudget = 12_000 + 200 * (duration + warmup);
    if (rps.ours * duration > singleBudget) notes.push(`one key would run dry (${fmt(rps.ours * duration)} req > ${fmt(singleBudget)} tokens)`);
    if (opts.single) {
      const s = await cannon(ours.served.url, [ours.served.single!], duration, connections);
      served.ours += s.total;
      const limited = s.statuses["429"] ?? 0;
      notes.push(`single key: ${fmt(s.rps)} req/s, 429 share ${((100 * limited) / Math.max(1, s.total)).toFixed(1)}%`);
    }
    if (opts.profile) for (const v of VARIANTS) writeFileSync(join(opts.profile.dir, `${framework}-${v}.requests.json`), JSON.stringify({ requests: served[v] }));
    return { framework, rps, cpuUs: med((r) => r.cpuUs), vsBare: ratios(runs, "bare"), vsPeer: ratios(runs, "peer"), note: notes.join("; ") };
  } finally {
    for (const c of children) await stopChild(c);
  }
}

const us = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "?");

async function main(): Promise<void> {
  const duration = envNumber("BENCH_DURATION", 5, 1);
  const warmup = envNumber("BENCH_WARMUP", 1, 0);
  const connections = envNumber("BENCH_CONNECTIONS", 10, 1);
  const rounds = envNumber("BENCH_ROUNDS", 2, 1);
  const poolSize = envNumber("BENCH_KEYS", 32, 1);
  const single = process.env.BENCH_SINGLE_KEY === "1";
  const only = process.env.BENCH_FRAMEWORKS?.split(",").map((s) => s.trim()).filter(Boolean);
  const frameworks = only?.length ? ALL.filter((f) => only.includes(f)) : ALL;
  const kinds = profileKinds(process.env.BENCH_PROFILE);
  const profile = kinds.length ? { kinds, dir: process.env.BENCH_PROFILE_DIR || join(tmpdir(), "alloovium-bench-profiles") } : undefined;
  if (profile) mkdirSync(profile.dir, { recursive: true });

  console.log(
    `http bench: GET ${ME}, ${connections} connections, ${warmup} s warm-up, ${rounds} rounds x ${duration} s per variant ` +
      `(bare, peer, ours alternated), ${poolSize} enterprise keys round robin; node ${process.version}, ${new Date().toISOString()}` +
      (profile ? `; profiling every server (${profile.kinds.join(", ")}) into ${profile.dir}: these req/s are not comparable` : ""),
  );
  const rows: Row[] = [];
  for (const framework of frameworks) rows.push(await benchFramework(framework, { duration, warmup, connections, rounds, poolSize, single, profile }));

  const verdict = (r: Ratios, goal: number) => `${r.medians.toFixed(2)} ${r.medians >= goal ? "met    " : "NOT met"} [${r.rounds.toFixed(2)} | ${r.cpu.toFixed(2)}]`;
  console.log("");
  console.log("Medians of the runs. Ratios: of the req/s medians (the goal), then [median of the per-round ratios | by server CPU per request].");
  console.log(`Goals: ours/bare >= ${frameworks.map((f) => `${BARE_GOAL[f].toFixed(2)} ${f}`).join(", ")}; ours/peer >= 1.20.`);
  console.log("framework  req/s: bare     peer     ours  CPU µs/req: bare peer ours  ours/bare                     ours/peer");
  for (const r of rows) {
    console.log(
      `${r.framework.padEnd(9)}  ${fmt(r.rps.bare).padStart(10)} ${fmt(r.rps.peer).padStart(8)} ${fmt(r.rps.ours).padStart(8)}` +
        `  ${us(r.cpuUs.bare).padStart(16)} ${us(r.cpuUs.peer).padStart(4)} ${us(r.cpuUs.ours).padStart(4)}` +
        `  ${verdict(r.vsBare, BARE_GOAL[r.framework])}  ${verdict(r.vsPeer, PEER_GOAL)}  (${r.note})`,
    );
  }
}

if (process.argv[2] === "serve") await child();
else await main();

// `pnpm bench` (core): nanoseconds per pipeline decision on the hot path: an API key already in
// the verified-key cache, one scope, the memory bucket and credit store, no idempotency. A benchmark, never a test.
// Beside it, in the same run: the same loop over a bare async function returning a constant
// (the floor any async decision pays here), so the figure can be read as a ratio.
// It measures the published build (dist/, built by the bench script): tsx compiles sources with
// esbuild's keepNames, whose per-closure __name() calls would distort a sub-microsecond figure.
import { defineCapability } from "../dist/index.js";
import { createTestPolicy, policyRequest } from "../dist/testing/index.js";
import { createInstrumentedPolicy } from "../dist/otel/index.js";
import { InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } from "@opentelemetry/sdk-metrics";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20_000);
// A loop of awaits never gives the event loop a turn, so a round's 20,000 events wait in the
// queue (and live through garbage collections) until its end; a server has turns between
// requests. BENCH_TURN_EVERY=100 gives one (setImmediate) every 100 decisions, in every variant.
const TURN_EVERY = Number(process.env.BENCH_TURN_EVERY ?? 0);

const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: ["vault:read"], cost: 1, idempotent: true });
// A bucket that never runs dry, so every decision takes the same path.
const t = createTestPolicy({ tiers: { standard: { capacity: 1_000_000_000, refillPerSecond: 1_000_000 } } });
const { key } = await t.mintKey({ scopes: ["vault:read", "vault:write"], environment: "live" });
const request = policyRequest({
  method: "GET",
  path: "/api/v2/vault/projects",
  key,
  headers: { host: "127.0.0.1:8787", "user-agent": "curl/8.5.0", accept: "application/json" },
});
const check = await t.policy.decide(request, list);
if (check.kind !== "continue") throw new Error(`bench setup: expected continue, got ${check.kind}`);

// The same without metering (`credits: false`): what the credits policy and usage counting cost.
const off = createTestPolicy({ metering: false, tiers: { standard: { capacity: 1_000_000_000, refillPerSecond: 1_000_000 } } });
const offKey = (await off.mintKey({ scopes: ["vault:read", "vault:write"], environment: "live" })).key;
const offRequest = policyRequest({ method: "GET", path: "/api/v2/vault/projects", key: offKey, headers: { host: "127.0.0.1:8787", "user-agent": "curl/8.5.0", accept: "application/json" } });
if ((await off.policy.decide(offRequest, list)).kind !== "continue") throw new Error("bench setup: expected continue without metering");

// The same metered decision with an onDecision listener (issue 14's events): what telling costs.
let told = 0;
const heard = createTestPolicy({ onDecision: () => void told++, tiers: { standard: { capacity: 1_000_000_000, refillPerSecond: 1_000_000 } } });
const heardKey = (await heard.mintKey({ scopes: ["vault:read", "vault:write"], environment: "live" })).key;
const heardRequest = policyRequest({ method: "GET", path: "/api/v2/vault/projects", key: heardKey, headers: { host: "127.0.0.1:8787", "user-agent": "curl/8.5.0", accept: "application/json" } });
if ((await heard.policy.decide(heardRequest, list)).kind !== "continue") throw new Error("bench setup: expected continue with a listener");

// The same with OpenTelemetry metrics on (`@alloovium/core/otel` over the SDK's MeterProvider
// with a reader): what recording every decision costs. The reader exports once a minute.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })] });
const otel = createTestPolicy({ create: (o) => createInstrumentedPolicy(o, { meterProvider }), tiers: { standard: { capacity: 1_000_000_000, refillPerSecond: 1_000_000 } } });
const otelKey = (await otel.mintKey({ scopes: ["vault:read", "vault:write"], environment: "live" })).key;
const otelRequest = policyRequest({ method: "GET", path: "/api/v2/vault/projects", key: otelKey, headers: { host: "127.0.0.1:8787", "user-agent": "curl/8.5.0", accept: "application/json" } });
if ((await otel.policy.decide(otelRequest, list)).kind !== "continue") throw new Error("bench setup: expected continue with OpenTelemetry");

const bare = async () => check;

// Wall time and this process's CPU time per call: on a shared machine the CPU figure excludes
// the time other processes held the core, so it is the steadier of the two.
async function round(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) {
    await fn();
    if (TURN_EVERY > 0 && i % TURN_EVERY === TURN_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  // A turn of the event loop, inside the measure: the events queued by the round are told (and
  // recorded) then, and their cost belongs to the decisions.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const wall = Number(process.hrtime.bigint() - start) / PER_ROUND;
  const used = process.cpuUsage(cpu0);
  return { wall, cpu: ((used.user + used.system) * 1000) / PER_ROUND };
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}

const decide = () => t.policy.decide(request, list);
const decideOff = () => off.policy.decide(offRequest, list);
const decideHeard = () => heard.policy.decide(heardRequest, list);
const decideOtel = () => otel.policy.decide(otelRequest, list);
for (let i = 0; i < 5; i++) { await round(decide); await round(decideOff); await round(decideHeard); await round(decideOtel); await round(bare); } // warm-up (JIT)
const ours: { wall: number; cpu: number }[] = [];
const unmetered: { wall: number; cpu: number }[] = [];
const floor: { wall: number; cpu: number }[] = [];
const listened: { wall: number; cpu: number }[] = [];
const recorded: { wall: number; cpu: number }[] = [];
for (let i = 0; i < ROUNDS; i++) { ours.push(await round(decide)); unmetered.push(await round(decideOff)); listened.push(await round(decideHeard)); recorded.push(await round(decideOtel)); floor.push(await round(bare)); }
const fmt = (n: number) => n.toFixed(0).padStart(6);
const line = (label: string, xs: { wall: number; cpu: number }[]) => {
  const w = stats(xs.map((x) => x.wall));
  const c = stats(xs.map((x) => x.cpu));
  console.log(`  ${label.padEnd(44)} wall median ${fmt(w.median)} ns (p10 ${fmt(w.p10)}, p90 ${fmt(w.p90)})   cpu median ${fmt(c.median)} ns`);
  return { wall: w.median, cpu: c.median };
};
console.log(`core pipeline hot path (${ROUNDS} rounds x ${PER_ROUND} decisions${TURN_EVERY > 0 ? `, a turn every ${TURN_EVERY}` : ""}, node ${process.version}, load average ${(await import("node:os")).loadavg()[0]!.toFixed(2)})`);
const a = line("decide (cached key, 1 scope, memory bucket)", ours);
const m = line("decide, metering off (credits: false)", unmetered);
const h = line("decide with an onDecision listener", listened);
const o = line("decide with OpenTelemetry metrics (SDK + reader)", recorded);
const b = line("bare async function (floor)", floor);
console.log(`  metering (credits + usage, memory) costs ${(a.cpu / m.cpu).toFixed(2)}x the unmetered decision`);
console.log(`  a decision event listener costs ${(h.cpu / a.cpu).toFixed(2)}x the decision without one (goal under 1.10; ${told} events told)`);
console.log(`  OpenTelemetry metrics cost ${(o.cpu / a.cpu).toFixed(2)}x the decision without a listener, ${(o.cpu / h.cpu).toFixed(2)}x a plain listener (goal under 1.10)`);
await meterProvider.shutdown();
console.log(`  ratio to the floor: ${(a.cpu / b.cpu).toFixed(1)}x cpu; decisions per second per core: ${(1e9 / a.cpu).toFixed(0)} (cpu), ${(1e9 / a.wall).toFixed(0)} (wall)`);
console.log(`  goal median <= 2000 ns: cpu ${a.cpu <= 2000 ? "met" : "NOT met"}, wall ${a.wall <= 2000 ? "met" : "NOT met"}`);

// `pnpm bench` (core): nanoseconds per pipeline decision on the hot path: an API key already in
// the verified-key cache, one scope, the memory bucket, no idempotency. A benchmark, never a test.
// Beside it, in the same run: the same loop over a bare async function returning a constant
// (the floor any async decision pays here), so the figure can be read as a ratio.
// It measures the published build (dist/, built by the bench script): tsx compiles sources with
// esbuild's keepNames, whose per-closure __name() calls would distort a sub-microsecond figure.
import { defineCapability } from "../dist/index.js";
import { createTestPolicy, policyRequest } from "../dist/testing/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 20_000);

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

const bare = async () => check;

async function round(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) await fn();
  return Number(process.hrtime.bigint() - start) / PER_ROUND;
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}

const decide = () => t.policy.decide(request, list);
for (let i = 0; i < 5; i++) { await round(decide); await round(bare); } // warm-up (JIT)
const ours: number[] = [];
const floor: number[] = [];
for (let i = 0; i < ROUNDS; i++) { ours.push(await round(decide)); floor.push(await round(bare)); }
const a = stats(ours);
const b = stats(floor);
const fmt = (n: number) => n.toFixed(0).padStart(6);
console.log(`core pipeline hot path (${ROUNDS} rounds x ${PER_ROUND} decisions, node ${process.version})`);
console.log(`  decide (cached key, 1 scope, memory bucket)   median ${fmt(a.median)} ns   p10 ${fmt(a.p10)}   p90 ${fmt(a.p90)}`);
console.log(`  bare async function (floor)                   median ${fmt(b.median)} ns   p10 ${fmt(b.p10)}   p90 ${fmt(b.p90)}`);
console.log(`  decisions per second, one core: ${(1e9 / a.median).toFixed(0)}; goal: median <= 2000 ns -> ${a.median <= 2000 ? "met" : "NOT met"}`);

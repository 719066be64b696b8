/**
 * Summary of a bench server's profiles (bench/profile.ts): the functions with the most self time,
 * all code and ours alone (packages/* and apps/sample outside node_modules), time per area, and,
 * from a heap profile, the bytes allocated per request by function. Per-request figures divide by
 * the request count the bench wrote beside the profiles.
 *
 *   pnpm exec tsx bench/profile-summary.ts <dir>/<framework>-ours [top=25]
 */
import { existsSync, readFileSync } from "node:fs";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface CpuNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly CpuNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}
interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

const OURS = /\/(packages\/[a-z-]+|apps\/sample)\/(src|bench)\//;

/** Where a frame's code lives: ours, a dependency (by package), Node itself, or V8's own entries. */
function area(f: CallFrame): string {
  if (f.url === "") return f.functionName.startsWith("(") ? f.functionName : "(native)";
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (dep) return dep[1]!;
  const own = OURS.exec(f.url);
  if (own) return `ours: ${own[1]}`;
  if (f.url.startsWith("node:")) return "node";
  return "other";
}

function label(f: CallFrame): string {
  const own = OURS.exec(f.url);
  const where = own ? f.url.slice(f.url.indexOf(own[1]!)) : f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\//, "");
  return `${f.functionName || "(anonymous)"} ${where}${where ? `:${f.lineNumber + 1}` : ""}`;
}

function table(title: string, rows: [string, number][], unit: (v: number) => string, top: number): void {
  console.log(`\n${title}`);
  for (const [name, v] of rows.sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${unit(v).padStart(18)}  ${name}`);
}

function cpu(file: string, requests: number | undefined, top: number): void {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = p.endTime - p.startTime;
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const perReq = (us: number) => (requests ? `${(us / requests).toFixed(2)} µs/req` : `${(us / 1000).toFixed(0)} ms`);
  const share = (us: number) => `${((100 * us) / busy).toFixed(1)} %  ${perReq(us)}`;
  console.log(`cpu: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy${requests ? `, ${requests} requests, ${(busy / requests).toFixed(1)} µs busy per request` : ""}`);

  const selfBy = new Map<string, number>();
  const selfOurs = new Map<string, number>();
  const areas = new Map<string, number>();
  // Inclusive time of our functions: each sample counts once per function on its stack.
  const inclusiveOurs = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)") continue;
    selfBy.set(label(f), (selfBy.get(label(f)) ?? 0) + t);
    areas.set(area(f), (areas.get(area(f)) ?? 0) + t);
    if (OURS.test(f.url) && !f.url.includes("node_modules")) selfOurs.set(label(f), (selfOurs.get(label(f)) ?? 0) + t);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n)!.callFrame;
      if (!OURS.test(cf.url) || cf.url.includes("node_modules")) continue;
      const l = label(cf);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusiveOurs.set(l, (inclusiveOurs.get(l) ?? 0) + t);
    }
  }
  table("self time by area (share of busy time)", [...areas], share, top);
  table("self time, all functions", [...selfBy], share, top);
  table("self time, our functions", [...selfOurs], share, top);
  table("inclusive time, our functions", [...inclusiveOurs], share, top);
}

function heap(file: string, requests: number | undefined, top: number): void {
  const root = (JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode }).head;
  const selfBy = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusiveOurs = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, stack: string[]) => {
    const l = label(n.callFrame);
    const own = OURS.test(n.callFrame.url) && !n.callFrame.url.includes("node_modules");
    const next = own && !stack.includes(l) ? [...stack, l] : stack;
    if (n.selfSize > 0) {
      total += n.selfSize;
      selfBy.set(l, (selfBy.get(l) ?? 0) + n.selfSize);
      areas.set(area(n.callFrame), (areas.get(area(n.callFrame)) ?? 0) + n.selfSize);
      for (const s of next) inclusiveOurs.set(s, (inclusiveOurs.get(s) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, next);
  };
  walk(root, []);
  const perReq = (b: number) => (requests ? `${(b / requests).toFixed(0)} B/req` : `${(b / 1024).toFixed(0)} KiB`);
  console.log(`\nheap: ${(total / 2 ** 20).toFixed(0)} MiB allocated (sampled, collected objects included)${requests ? `, ${perReq(total)}` : ""}`);
  table("allocated by area", [...areas], perReq, top);
  table("allocated, all functions (self)", [...selfBy], perReq, top);
  table("allocated under our functions (inclusive)", [...inclusiveOurs], perReq, top);
}

const [base, topArg] = process.argv.slice(2);
if (!base) throw new TypeError("usage: profile-summary.ts <dir>/<framework>-<variant> [top]");
const top = Number(topArg ?? 25);
const meta = existsSync(`${base}.requests.json`) ? (JSON.parse(readFileSync(`${base}.requests.json`, "utf8")) as { requests: number }) : undefined;
if (existsSync(`${base}.cpuprofile`)) cpu(`${base}.cpuprofile`, meta?.requests, top);
if (existsSync(`${base}.heapprofile`)) heap(`${base}.heapprofile`, meta?.requests, top);

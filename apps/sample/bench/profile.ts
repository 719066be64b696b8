/**
 * Profiling of one bench server from inside its process (`BENCH_PROFILE=cpu`, `heap` or
 * `cpu,heap`), through the inspector, from the moment it listens until it stops, so that start-up
 * is left out. The heap profile is V8's sampling heap profiler with the objects that the young and
 * the old generation collected kept in: what a request allocates and drops, not only what stays.
 * Files: `<dir>/<framework>-<variant>.cpuprofile` and `.heapprofile` (Chrome DevTools formats);
 * `bench/profile-summary.ts` reads them.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

export type ProfileKind = "cpu" | "heap";

/** `BENCH_PROFILE`'s kinds; throws on anything else. */
export function profileKinds(raw: string | undefined): ProfileKind[] {
  const kinds = (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const k of kinds) if (k !== "cpu" && k !== "heap") throw new TypeError(`BENCH_PROFILE must list cpu and/or heap, got ${raw}`);
  return kinds as ProfileKind[];
}

function post<T = unknown>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T))));
}

/**
 * Starts the profilers named; the returned function stops them and writes their files.
 * @example const stop = await startProfiling(["cpu"], "/tmp/prof", "hono-ours"); ...; await stop();
 */
export async function startProfiling(kinds: readonly ProfileKind[], dir: string, name: string): Promise<() => Promise<string[]>> {
  const session = new Session();
  session.connect();
  if (kinds.includes("cpu")) {
    await post(session, "Profiler.enable");
    // 100 µs: about a sample per few requests at these rates, enough for functions of ~1 µs.
    await post(session, "Profiler.setSamplingInterval", { interval: 100 });
    await post(session, "Profiler.start");
  }
  if (kinds.includes("heap")) {
    await post(session, "HeapProfiler.enable");
    await post(session, "HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  return async () => {
    const files: string[] = [];
    if (kinds.includes("cpu")) {
      const { profile } = await post<{ profile: unknown }>(session, "Profiler.stop");
      const file = join(dir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      files.push(file);
    }
    if (kinds.includes("heap")) {
      const { profile } = await post<{ profile: unknown }>(session, "HeapProfiler.stopSampling");
      const file = join(dir, `${name}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      files.push(file);
    }
    session.disconnect();
    return files;
  };
}

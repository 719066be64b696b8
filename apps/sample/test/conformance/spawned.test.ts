/**
 * support/spawned.ts, the harness that starts the app on Bun or Deno: close() ends the whole
 * process group even when the app does not close on SIGTERM, and always removes the temporary
 * directory (its seed.json holds raw keys).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startSpawnedServer } from "./support/spawned";
import { createFixture } from "./support/seed";

/** The processes whose environment holds `marker` (Linux: /proc), with their seed file. */
function processesWith(marker: string): { pid: number; seedFile: string | undefined }[] {
  const out: { pid: number; seedFile: string | undefined }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1");
    } catch {
      continue; // gone, or not ours
    }
    const vars = environ.split("\0");
    if (!vars.includes(`ALLOOVIUM_KEY_PEPPER=${marker}`)) continue;
    out.push({ pid: Number(entry), seedFile: vars.find((v) => v.startsWith("ALLOOVIUM_SEED_FILE="))?.slice("ALLOOVIUM_SEED_FILE=".length) });
  }
  return out;
}

describe("startSpawnedServer (support/spawned.ts)", () => {
  it("kills the process group when the app does not close on SIGTERM, and removes the seed file", async () => {
    const pepper = `spawned-test-${process.pid}-${Date.now()}`;
    const server = await startSpawnedServer("bun", "hono", { pepper, seed: createFixture().seed }, () => {});
    const procs = processesWith(pepper);
    expect(procs.length).toBeGreaterThanOrEqual(2); // the launcher and the app
    const seedFile = procs[0]!.seedFile!;
    expect(existsSync(seedFile)).toBe(true);
    // Stopped, every process of it holds SIGTERM pending: only the SIGKILL fallback ends them.
    for (const { pid } of procs) process.kill(pid, "SIGSTOP");
    await server.close();
    for (const { pid } of procs) expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "), `process ${pid} still there`).toBe(false);
    expect(existsSync(seedFile)).toBe(false);
  }, 60_000);
});

/**
 * The whole adapter conformance suite on Bun and on Deno, each in its own test runner against
 * the suite's app served by the runtime itself (runtime-conformance.ts): `bun test`, and
 * `deno test` with "vitest" mapped to node:test and jest's `expect`. Both runtimes are the
 * workspace's devDependencies (npm packages `bun` and `deno`).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = fileURLToPath(new URL("..", import.meta.url));
const root = join(here, "..", "..");

function binary(name: "bun" | "deno"): string {
  const dir = dirname(createRequire(join(root, "package.json")).resolve(`${name}/package.json`));
  return name === "bun" ? join(dir, "bin", "bun.exe") : join(dir, "deno");
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: here, env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/**
 * The suite's cases with `readsGetBodies: false`, as written in core (one `it(` each, those only
 * for it included), but for its OpenTelemetry block: that one needs the SDK's Node HTTP
 * instrumentation (require hooks), so it is skipped on these runtimes.
 */
const suite = readFileSync(join(root, "packages/core/src/conformance/adapter.ts"), "utf8");
const otelBlock = suite.indexOf("describe.skipIf(!telemetrySdkInstalled())");
const cases = (suite.slice(0, otelBlock < 0 ? undefined : otelBlock).match(/^\s+(?:if \(!getBodies\) )?it\(/gm) ?? []).length;

describe("@alloovium/hono's adapter conformance on Bun and Deno", () => {
  it("runs every case on Bun.serve (bun test)", async () => {
    const r = await run(binary("bun"), ["test", "./src/runtime-conformance.ts"]);
    expect(r.output).toMatch(new RegExp(`^\\s*${cases} pass\\s*$`, "m"));
    expect(r.output).toMatch(/^\s*0 fail\s*$/m);
    expect(r.code, r.output).toBe(0);
  }, 60_000);

  it("runs every case on Deno.serve (deno test)", async () => {
    const r = await run(binary("deno"), ["test", "--no-check", "--sloppy-imports", "--allow-all", "--no-lock", "--config", "src/runtime-conformance.deno.json", "src/runtime-conformance.ts"]);
    expect(r.output).toContain(`ok | 1 passed (${cases} steps) | 0 failed`);
    expect(r.code, r.output).toBe(0);
  }, 60_000);
});

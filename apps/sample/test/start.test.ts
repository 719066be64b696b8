/**
 * `pnpm start` (scripts/start.mjs) on each runtime: ALLOOVIUM_RUNTIME picks Node, Bun or Deno,
 * the same environment configures the app, signals reach it, and a framework the runtime cannot
 * serve is refused naming the variable. (The whole surface on Bun and Deno: runtimes.test.ts.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const app = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];

function launch(env: Record<string, string>, args = ["scripts/start.mjs"]): { child: ChildProcess; out: () => string; err: () => string } {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([n]) => !n.startsWith("ALLOOVIUM_") && n !== "REDIS_URL"));
  const child = spawn(process.execPath, args, {
    cwd: app,
    env: { ...inherited, HOST: "127.0.0.1", PORT: "0", ALLOOVIUM_KEY_PEPPER: "start-test-pepper-0123456789", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  return { child, out: () => out, err: () => err };
}

async function listening(out: () => string, child: ChildProcess): Promise<string> {
  for (;;) {
    const url = /listening on (http:\/\/\S+)/.exec(out())?.[1];
    if (url) return url;
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
  }
});

describe("pnpm start on Node, Bun and Deno (scripts/start.mjs)", () => {
  it.each(["bun", "deno"])("serves on %s and closes on SIGTERM with exit code 0", async (runtime) => {
    const { child, out } = launch({ ALLOOVIUM_RUNTIME: runtime });
    const url = await listening(out, child);
    const key = /demo key[^:]*: (ak_test_\w+)/.exec(out())![1]!;
    const me = await fetch(`${url}/api/v2/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { auth_method: string }).auth_method).toBe("api_key");
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(out()).toContain("SIGTERM: closing");
    expect(code).toBe(0);
  });

  it.each(["bun", "deno"])("refuses ALLOOVIUM_FRAMEWORK=express on %s, exit 2 naming the variable", async (runtime) => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: runtime, ALLOOVIUM_FRAMEWORK: "express" });
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain(`error: ALLOOVIUM_FRAMEWORK must be hono on ALLOOVIUM_RUNTIME=${runtime}`);
  });

  it("refuses an unknown ALLOOVIUM_RUNTIME, exit 2 naming it", async () => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: "java" });
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain('ALLOOVIUM_RUNTIME must be one of node, bun, deno; got "java"');
  });

  it("refuses src/main.ts run by hand on another runtime than ALLOOVIUM_RUNTIME names", async () => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: "bun" }, ["--import", "tsx", "src/main.ts"]);
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain('ALLOOVIUM_RUNTIME is "bun" but src/main.ts runs on node');
  });
});

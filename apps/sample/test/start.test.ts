/**
 * `pnpm start` (scripts/start.mjs) on each runtime: ALLOOVIUM_RUNTIME picks Node, Bun or Deno,
 * the same environment configures the app, signals reach it, and a framework the runtime cannot
 * serve is refused naming the variable. (The whole surface on Bun and Deno: runtimes.test.ts.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

/** The one child process of `pid` (Linux: /proc). */
function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  expect(children).toHaveLength(1);
  return Number(children[0]);
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
      const gone = once(child, "close");
      child.kill("SIGKILL");
      await gone;
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
    const exited = once(child, "close");
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    expect(out()).toContain("SIGTERM: closing");
    expect(code).toBe(0);
  });

  it.each(["bun", "deno"])("refuses ALLOOVIUM_FRAMEWORK=express on %s, exit 2 naming the variable", async (runtime) => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: runtime, ALLOOVIUM_FRAMEWORK: "express" });
    const [code] = (await once(child, "close")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain(`error: ALLOOVIUM_FRAMEWORK must be hono on ALLOOVIUM_RUNTIME=${runtime}`);
  });

  it.each(["bun", "deno"])("leaves no app running on %s when the launcher is killed with SIGKILL", async (runtime) => {
    const { child, out } = launch({ ALLOOVIUM_RUNTIME: runtime });
    const url = await listening(out, child);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const gone = once(child, "close");
    child.kill("SIGKILL");
    await gone;
    // The app reads the end of its stdin pipe and closes: its port stops answering.
    for (;;) {
      const answered = await fetch(`${url}/healthz`, { headers: { connection: "close" } }).then(
        () => true,
        () => false,
      );
      if (!answered) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("closes the app when its stdin closes under ALLOOVIUM_EXIT_WITH_PARENT=1 (how the test harness starts it)", async () => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([n]) => !n.startsWith("ALLOOVIUM_") && n !== "REDIS_URL"));
    const child = spawn(process.execPath, ["scripts/start.mjs"], {
      cwd: app,
      env: { ...inherited, HOST: "127.0.0.1", PORT: "0", ALLOOVIUM_KEY_PEPPER: "start-test-pepper-0123456789", ALLOOVIUM_RUNTIME: "bun", ALLOOVIUM_EXIT_WITH_PARENT: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
    await listening(() => out, child);
    const gone = once(child, "close");
    child.stdin!.end();
    const [code] = (await gone) as [number | null];
    expect(out).toContain("SIGTERM: closing");
    expect(code).toBe(0);
  });

  it.each([
    ["SIGHUP", 129],
    ["SIGKILL", 137],
  ] as const)("passes %s on, or reports the app's death by it as 128 + its number", async (signal, expected) => {
    // SIGHUP sent to the launcher reaches the app, which has no handler for it and dies by it;
    // SIGKILL is sent to the app itself. Either way the launcher exits as a shell would report it.
    const { child, out } = launch({ ALLOOVIUM_RUNTIME: "bun" });
    await listening(out, child);
    const gone = once(child, "close");
    if (signal === "SIGHUP") child.kill("SIGHUP");
    else process.kill(childOf(child.pid!), "SIGKILL");
    const [code] = (await gone) as [number | null];
    expect(code).toBe(expected);
  });

  it("fails with a message, not a hang, when the runtime is missing and npx cannot fetch it", async () => {
    // The launcher in a workspace of its own where bun is not installed, with an npx that never answers.
    const root = mkdtempSync(join(tmpdir(), "alloovium-start-"));
    try {
      mkdirSync(join(root, "apps", "sample", "scripts"), { recursive: true });
      mkdirSync(join(root, "bin"));
      copyFileSync(join(app, "scripts", "start.mjs"), join(root, "apps", "sample", "scripts", "start.mjs"));
      writeFileSync(join(root, "package.json"), JSON.stringify({ devDependencies: { bun: "1.4.5" } }));
      writeFileSync(join(root, "bin", "npx"), "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
      const { child, err } = launch({ ALLOOVIUM_RUNTIME: "bun", ALLOOVIUM_RUNTIME_INSTALL_TIMEOUT: "1", PATH: `${join(root, "bin")}:${process.env["PATH"] ?? ""}` }, [join(root, "apps", "sample", "scripts", "start.mjs")]);
      const [code] = (await once(child, "close")) as [number | null];
      expect(code).toBe(1);
      expect(err()).toContain("bun is not installed here");
      expect(err()).toContain("error: cannot get bun@1.4.5 from the npm registry (no answer within 1 s)");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses an unknown ALLOOVIUM_RUNTIME, exit 2 naming it", async () => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: "java" });
    const [code] = (await once(child, "close")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain('ALLOOVIUM_RUNTIME must be one of node, bun, deno; got "java"');
  });

  it("refuses src/main.ts run by hand on another runtime than ALLOOVIUM_RUNTIME names", async () => {
    const { child, err } = launch({ ALLOOVIUM_RUNTIME: "bun" }, ["--import", "tsx", "src/main.ts"]);
    const [code] = (await once(child, "close")) as [number | null];
    expect(code).toBe(2);
    expect(err()).toContain('ALLOOVIUM_RUNTIME is "bun" but src/main.ts runs on node');
  });
});

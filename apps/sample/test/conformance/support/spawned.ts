/**
 * The sample app as a user starts it on Bun or Deno: `ALLOOVIUM_RUNTIME=<runtime> pnpm start`
 * (scripts/start.mjs) in a process of its own, configured by the run contract's environment
 * variables only. `startApp` uses it for a variant with a `runtime`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Framework, RunningServer, StartOptions } from "../../../src/server";
import type { Runtime } from "../../../src/runtimes";

const LAUNCHER = fileURLToPath(new URL("../../../scripts/start.mjs", import.meta.url));

/** The options a spawned app takes, each through its environment variable. */
export type SpawnedOptions = Omit<StartOptions, "framework" | "log" | "runtime">;

function tenantBucketEnv(option: StartOptions["tenantBucket"]): string {
  if (option === undefined) return "";
  if (typeof option === "function") throw new TypeError("startApp: a tenantBucket function cannot reach a spawned app");
  const size = (l: { capacity: number; refillPerSecond: number }) => `${l.capacity}:${l.refillPerSecond}`;
  if ("capacity" in option) return size(option as { capacity: number; refillPerSecond: number });
  return Object.entries(option)
    .map(([tier, limits]) => `${tier}=${size(limits as { capacity: number; refillPerSecond: number })}`)
    .join(",");
}

/** The environment that says what `options` say. Throws for an option with no variable. */
function environmentOf(runtime: Runtime, framework: Framework, options: SpawnedOptions | StartOptions, dir: string): Record<string, string> {
  const env: Record<string, string> = { ALLOOVIUM_RUNTIME: runtime, ALLOOVIUM_FRAMEWORK: framework, HOST: options.host ?? "127.0.0.1", PORT: String(options.port ?? 0) };
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    switch (name) {
      case "host":
      case "port":
      case "framework": // ALLOOVIUM_FRAMEWORK, above
      case "log": // the app's output, line by line
        break;
      case "environment":
        env["ALLOOVIUM_ENVIRONMENT"] = value as string;
        break;
      case "pepper":
        env["ALLOOVIUM_KEY_PEPPER"] = value as string;
        break;
      case "seed":
        writeFileSync(join(dir, "seed.json"), JSON.stringify(value));
        env["ALLOOVIUM_SEED_FILE"] = join(dir, "seed.json");
        break;
      case "oauth": {
        const { jwks, issuer, audience } = value as NonNullable<StartOptions["oauth"]>;
        writeFileSync(join(dir, "jwks.json"), JSON.stringify(jwks));
        env["ALLOOVIUM_OAUTH_JWKS_FILE"] = join(dir, "jwks.json");
        env["ALLOOVIUM_OAUTH_ISSUER"] = issuer;
        if (audience !== undefined) env["ALLOOVIUM_OAUTH_AUDIENCE"] = audience;
        break;
      }
      case "redisUrl":
        env["REDIS_URL"] = value as string;
        break;
      case "redisKeyPrefix":
        env["ALLOOVIUM_REDIS_KEY_PREFIX"] = value as string;
        break;
      case "tenantBucket":
        env["ALLOOVIUM_TENANT_BUCKET"] = tenantBucketEnv(value as StartOptions["tenantBucket"]);
        break;
      case "maxActiveKeys":
        env["ALLOOVIUM_MAX_ACTIVE_KEYS"] = String(value);
        break;
      default:
        throw new TypeError(`startApp: \`${name}\` has no environment variable: it cannot reach an app on ${runtime}`);
    }
  }
  return env;
}

/** How long an app may take to say it listens (a loaded machine, a cold runtime cache). */
const STARTUP_MS = 90_000;
/** How long it may take to close on SIGTERM before its whole process group is killed. */
const CLOSE_MS = 15_000;

/** Kills the launcher's process group (the launcher, npx, the runtime): nothing outlives a test. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Resolves when `child` has exited and its output streams are closed (`close`, not `exit`). */
function closed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    if (child.stdout?.closed !== false && child.stderr?.closed !== false) return Promise.resolve();
  }
  return once(child, "close").then(() => undefined);
}

/** Starts `pnpm start` on `runtime`; resolves once it says it listens. Every output line goes to `log`. */
export async function startSpawnedServer(runtime: Exclude<Runtime, "node">, framework: Framework, options: SpawnedOptions | StartOptions, log: (line: string) => void): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `alloovium-${runtime}-`));
  // The seed file holds raw keys: the directory goes whatever happens.
  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  // Only what this app is told: none of the caller's ALLOOVIUM_* or REDIS_URL leaks in.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([n]) => !n.startsWith("ALLOOVIUM_") && n !== "REDIS_URL" && n !== "PORT" && n !== "HOST"));
  let child: ChildProcess;
  try {
    // A process group of its own (detached), so that close() can kill all of it; no terminal
    // signal reaches that group, so the launcher also closes when its stdin pipe (held by this
    // process only) does: the test run ending, however it ends, ends the app.
    child = spawn(process.execPath, [LAUNCHER], {
      env: { ...inherited, ...environmentOf(runtime, framework, options, dir), ALLOOVIUM_EXIT_WITH_PARENT: "1" },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
  } catch (e) {
    cleanUp();
    throw e;
  }
  child.stdin!.on("error", () => {}); // never written: only its end matters
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`the app on ${runtime} did not say it listens within ${STARTUP_MS / 1000} s:\n${output.join("\n")}`));
    }, STARTUP_MS);
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = "";
      stream.setEncoding("utf8").on("data", (chunk: string) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          output.push(line);
          log(line);
          const m = /^listening on (http:\/\/\S+)$/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      });
    }
    // On `close`: every line it wrote is read by then.
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the app on ${runtime} exited (${code ?? signal}) before listening:\n${output.join("\n")}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      killGroup(child);
      reject(e);
    });
  }).catch((e: unknown) => {
    cleanUp();
    throw e;
  });
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        try {
          if (child.exitCode === null && child.signalCode === null) {
            const done = closed(child);
            child.kill("SIGTERM");
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), CLOSE_MS)));
            if ((await Promise.race([done, late])) === "late") {
              killGroup(child);
              await done;
            }
            clearTimeout(timer);
          }
          killGroup(child); // anything of the group still there (the launcher is gone)
        } finally {
          cleanUp();
        }
      })()),
  };
}

#!/usr/bin/env node
// `pnpm start`: src/main.ts on the runtime named by ALLOOVIUM_RUNTIME (node, the default; bun;
// deno), with the same environment. Bun runs the TypeScript sources as they are; Deno with
// --sloppy-imports (the workspace's packages import without file extensions). The runtime is the
// workspace's devDependency (`pnpm install` brings it); when it is missing, the same version comes
// from the npm registry through npx (within ALLOOVIUM_RUNTIME_INSTALL_TIMEOUT seconds, default 180).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(app, "..", "..");
const RUNTIMES = ["node", "bun", "deno"];
const runtime = process.env.ALLOOVIUM_RUNTIME || "node";
if (!RUNTIMES.includes(runtime)) {
  console.error(`error: ALLOOVIUM_RUNTIME must be one of ${RUNTIMES.join(", ")}; got "${runtime}"`);
  process.exit(2);
}

/** What each runtime needs to run src/main.ts. */
const ARGS = {
  node: ["--import", "tsx", "src/main.ts"],
  bun: ["src/main.ts"],
  // What the app does: listen and connect to Redis (net), read its seed, JWKS and console files
  // (read), its configuration (env), and what Node's os module tells ioredis (sys). Never a
  // prompt: a missing permission fails at once. No lockfile: pnpm's is the one.
  deno: ["run", "--sloppy-imports", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "--no-prompt", "--no-lock", "src/main.ts"],
};

/** The workspace's pinned version of a runtime package (root package.json). */
function pinned(name) {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return String(pkg.devDependencies?.[name] ?? "latest").replace(/^[\^~]/, "");
}

/** The runtime's own binary from its npm package, when it is installed and runs. */
function installed(name) {
  let dir;
  try {
    dir = dirname(createRequire(join(root, "package.json")).resolve(`${name}/package.json`));
  } catch {
    return null;
  }
  // bun's postinstall puts the binary at bin/bun.exe; deno's links it as ./deno.
  const bin = name === "bun" ? join(dir, "bin", "bun.exe") : join(dir, "deno");
  if (!existsSync(bin)) return null;
  return spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0 ? bin : null;
}

function command() {
  if (runtime === "node") return [process.execPath, ARGS.node];
  const bin = installed(runtime);
  if (bin) return [bin, ARGS[runtime]];
  const version = pinned(runtime);
  const seconds = Number(process.env.ALLOOVIUM_RUNTIME_INSTALL_TIMEOUT || 180);
  console.error(`[start] ${runtime} is not installed here (run pnpm install to get it): fetching ${runtime}@${version} from the npm registry with npx, for at most ${seconds} s (ALLOOVIUM_RUNTIME_INSTALL_TIMEOUT)`);
  // Fetched (and checked to run) first, under a time limit: offline, this fails with a message
  // instead of hanging; then npx starts it from its cache.
  const fetched = spawnSync("npx", ["--yes", `${runtime}@${version}`, "--version"], { stdio: ["ignore", "ignore", "inherit"], timeout: seconds * 1000, killSignal: "SIGKILL" });
  if (fetched.status !== 0) {
    const why = fetched.error?.code === "ETIMEDOUT" ? `no answer within ${seconds} s` : fetched.error ? fetched.error.message : `npx exited ${fetched.status ?? fetched.signal}`;
    console.error(`error: cannot get ${runtime}@${version} from the npm registry (${why}): install it with pnpm install, or check the network`);
    process.exit(1);
  }
  return ["npx", ["--yes", `${runtime}@${version}`, ...ARGS[runtime]]];
}

const [cmd, args] = command();
const child = spawn(cmd, args, {
  cwd: app,
  // stdin is a pipe only this launcher holds: when it dies, even by SIGKILL, the app reads its
  // end and closes (ALLOOVIUM_EXIT_WITH_PARENT, src/main.ts) instead of running on, orphaned.
  stdio: ["pipe", "inherit", "inherit"],
  env: { ...process.env, ALLOOVIUM_RUNTIME: runtime, ALLOOVIUM_EXIT_WITH_PARENT: "1", DENO_NO_UPDATE_CHECK: "1" },
});
// Started by a program with the same request (the test harness, whose process group of its own
// no terminal signal reaches): when our stdin closes, that program is gone: close the app.
if (process.env.ALLOOVIUM_EXIT_WITH_PARENT === "1") {
  process.stdin.on("end", () => child.kill("SIGTERM")).on("error", () => child.kill("SIGTERM"));
  process.stdin.resume();
}
// The app closes on SIGINT and SIGTERM: pass them on (SIGHUP too), and leave with its exit code.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (e) => {
  console.error(`error: cannot start ${runtime}: ${e.message}`);
  process.exit(1);
});
// Killed by a signal: 128 + its number, as a shell reports it.
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));

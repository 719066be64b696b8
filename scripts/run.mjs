#!/usr/bin/env node
// Entry point for the README's commands (`npm start`, `npm test`, `npm run bench`).
// A fresh machine has Node and npm only: install the pinned pnpm and the workspace's
// dependencies when they are missing, then run the task. Works the same under pnpm.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, "");
const [task, ...rest] = process.argv.slice(2);
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", TURBO_NO_UPDATE_NOTIFIER: "1" };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env, ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}
function has(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", env });
  return r.status === 0 ? r.stdout.trim() : null;
}

// The pnpm to run: the pinned version on PATH, installed globally when it is missing, or, where
// a global install is not allowed (no root), the same version through npx.
let pnpm = ["pnpm"];
function ensurePnpm() {
  const v = has("pnpm", ["--version"]);
  if (v === pnpmVersion) return;
  console.error(`[setup] installing pnpm@${pnpmVersion} with npm (found: ${v ?? "none"})`);
  if (run("npm", ["install", "--global", `pnpm@${pnpmVersion}`, "--no-fund", "--no-audit"]) === 0 && has("pnpm", ["--version"]) === pnpmVersion) return;
  console.error(`[setup] no global install; running pnpm@${pnpmVersion} through npx`);
  pnpm = ["npx", "--yes", `pnpm@${pnpmVersion}`];
  if (run(pnpm[0], [...pnpm.slice(1), "--version"]) !== 0) {
    throw new Error(`could not run pnpm@${pnpmVersion}; install it with: npm i -g pnpm@${pnpmVersion}`);
  }
}
const runPnpm = (args) => run(pnpm[0], [...pnpm.slice(1), ...args]);
// The packaging test packs with the same pnpm (it may be the npx one).
const exportPnpm = () => (env.ALLOOVIUM_PNPM = JSON.stringify(pnpm));

function ensureInstalled() {
  const marker = join(root, "node_modules", ".modules.yaml");
  const lock = join(root, "pnpm-lock.yaml");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error("[setup] pnpm install");
  const args = ["install", "--prefer-offline"];
  if (process.env.CI) args.push("--frozen-lockfile");
  if (runPnpm(args) !== 0) throw new Error("pnpm install failed");
}

// The console's browser tests drive Debian's Chromium. A fresh machine of this project's kind
// has none: install it when this process may (root, or sudo without a password), as a user
// would; otherwise say how, and let the browser test fail with its own message.
function ensureChromium() {
  if (process.env.CHROMIUM_PATH || existsSync("/usr/bin/chromium")) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const asRoot = root ? ["env"] : has("sudo", ["-n", "true"]) !== null ? ["sudo", "-n", "env"] : null;
  if (!asRoot || has("apt-get", ["--version"]) === null) {
    console.error("[setup] /usr/bin/chromium is missing and cannot be installed here: apt-get install chromium, or set CHROMIUM_PATH");
    return;
  }
  console.error("[setup] installing Debian's chromium for the console's browser tests");
  const apt = (...args) => run(asRoot[0], [...asRoot.slice(1), "DEBIAN_FRONTEND=noninteractive", "apt-get", ...args]);
  if (apt("update") !== 0 || apt("install", "-y", "chromium") !== 0 || !existsSync("/usr/bin/chromium")) {
    console.error("[setup] installing chromium failed; the browser tests will say so");
  }
}

function test() {
  ensureChromium();
  const outDir = join(root, ".ci", "out");
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, "vitest.json");
  const status = runPnpm([
    "exec", "vitest", "run",
    "--reporter=default", "--reporter=json", `--outputFile.json=${out}`,
    ...rest,
  ]);
  let passed = 0, failed = 0, skipped = 0;
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, "utf8"));
    passed = r.numPassedTests ?? 0;
    failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTests ?? 0);
    skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A suite that fails to load counts no test; count it so it cannot pass silently.
    for (const f of r.testResults ?? []) if (f.status === "failed" && f.assertionResults.length === 0) failed++;
  } else {
    failed = 1;
  }
  if (status !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return status !== 0 || failed > 0 ? 1 : 0;
}

ensurePnpm();
exportPnpm();
ensureInstalled();
let code;
switch (task) {
  case "start":
    code = runPnpm(["--filter", "@alloovium/sample-app", "start", ...rest]);
    break;
  case "test":
    code = test();
    break;
  case "bench":
    code = runPnpm(["exec", "turbo", "run", "bench", "--concurrency=1", "--output-logs=full", ...rest]);
    break;
  default:
    console.error(`unknown task ${task}; use start, test or bench`);
    code = 2;
}
process.exit(code);

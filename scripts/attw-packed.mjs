#!/usr/bin/env node
// `pnpm lint` step of each package: pack it with pnpm (so that publishConfig applies and
// `workspace:` ranges are rewritten, as on publish), then run @arethetypeswrong/cli on the
// tarball. `attw --pack` would pack with npm, which ignores publishConfig.
//
//   node ../../scripts/attw-packed.mjs [--esm-only ./subpath ...]
//
// Every entry point is checked with the strict profile (ESM and CJS, with types), except those
// named after --esm-only, which are checked with the esm-only profile: they have no `require`
// condition by design, and the package README says why.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const attwBin = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", ".bin", "attw");

const args = process.argv.slice(2);
const esmOnly = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--esm-only" && args[i + 1] && !args[i + 1].startsWith("--")) {
    while (args[i + 1] && !args[i + 1].startsWith("--")) esmOnly.push(args[++i]);
  } else {
    console.error(`attw-packed: unknown argument ${args[i]}; usage: attw-packed.mjs [--esm-only ./subpath ...]`);
    process.exit(2);
  }
}

const run = (cmd, cmdArgs, quiet = false) => {
  const r = spawnSync(cmd, cmdArgs, { stdio: quiet ? "pipe" : "inherit", encoding: "utf8" });
  if (r.error) throw r.error;
  if (quiet && r.status !== 0) process.stderr.write(r.stdout + r.stderr);
  return r.status ?? 1;
};

const dir = mkdtempSync(join(tmpdir(), "attw-"));
let status = 1;
try {
  if (run("pnpm", ["pack", "--pack-destination", dir], true) !== 0) throw new Error("pnpm pack failed");
  const tarballs = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
  if (tarballs.length !== 1) throw new Error(`expected one tarball in ${dir}, found ${tarballs.length}`);
  const tarball = join(dir, tarballs[0]);
  const attw = (extra) => run(attwBin, [tarball, "--no-emoji", "--no-color", ...extra]);
  status = attw(["--profile", "strict", ...(esmOnly.length ? ["--exclude-entrypoints", ...esmOnly] : [])]);
  if (esmOnly.length) status ||= attw(["--profile", "esm-only", "--entrypoints", ...esmOnly]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);

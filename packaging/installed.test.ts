// What is published works as installed: every package is built and packed with pnpm (so that
// publishConfig applies and `workspace:` ranges become versions), the tarballs are installed
// with npm into a fresh project outside the workspace, and each entry point is loaded from an ES
// module and from CommonJS, and its types checked from a user's file, as a user would.
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");

/** Every published entry point, the exports it must have as functions, and whether it is ESM-only. */
const entryPoints: { spec: string; functions: string[]; esmOnly?: true }[] = [
  { spec: "@alloovium/core", functions: ["createPolicy", "defineCapability", "defineCapabilities", "createKeyHasher"] },
  { spec: "@alloovium/core/testing", functions: ["createTestPolicy", "mintApiKey", "mintPrincipal", "FakeClock"] },
  { spec: "@alloovium/core/store-kit", functions: ["composeAdmission", "takeTokens", "applyKeyPatch", "encodeCursor"] },
  // Imports vitest, which refuses to be required: ESM-only by design (see the core README).
  { spec: "@alloovium/core/conformance", functions: ["bucketStoreConformance", "idempotencyStoreConformance", "keyStoreConformance", "adapterConformance"], esmOnly: true },
  // Imports the optional peer @opentelemetry/api (installed below); the other entry points never do.
  { spec: "@alloovium/core/otel", functions: ["createInstrumentedPolicy"] },
  { spec: "@alloovium/redis", functions: ["createRedisStores"] },
  { spec: "@alloovium/postgres", functions: ["createPostgresStores", "connectPostgresStores", "migrate", "migrations"] },
  { spec: "@alloovium/express", functions: ["alloovium"] },
  { spec: "@alloovium/koa", functions: ["alloovium"] },
  { spec: "@alloovium/hono", functions: ["alloovium"] },
  { spec: "@alloovium/fastify", functions: ["alloovium"] },
  { spec: "@alloovium/nestjs", functions: ["AllooviumModule", "AllooviumGuard", "AllooviumExceptionFilter", "Capability", "Principal", "allooviumFrameworkErrors"] },
];

/** What the entry points need beside the tarballs: their peer dependencies and the user's types. */
const peers = {
  ioredis: "^5.4.0",
  pg: "^8.11.0",
  "@types/pg": "^8.11.0",
  express: "^5.0.0",
  koa: "^3.0.0",
  hono: "^4.6.0",
  fastify: "^5.0.0",
  "@nestjs/common": "^11.0.0",
  "@nestjs/core": "^11.0.0",
  "reflect-metadata": "^0.2.0",
  rxjs: "^7.1.0",
  vitest: "4.1.12",
  "@opentelemetry/api": "~1.9.0",
  typescript: "~5.9.3",
  "@types/node": "^20.19.0",
  "@types/express": "^5.0.0",
  "@types/koa": "^3.0.0",
};

interface Probe {
  resolved?: string;
  exports?: Record<string, string>;
  error?: { code: string | null; message: string };
}
interface Run {
  code: number | null;
  output: string;
  stdout: string;
}

// The child processes get none of the npm_config_* / npm_package_* variables that `npm test` or
// pnpm set for the workspace: the consumer's npm must not take the workspace for its project.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|INIT_CWD$)/i.test(k)));

// The pnpm that scripts/run.mjs found (maybe `npx pnpm@…`), else the one on PATH.
const pnpm = process.env.ALLOOVIUM_PNPM ? (JSON.parse(process.env.ALLOOVIUM_PNPM) as string[]) : ["pnpm"];
const runPnpm = (args: string[], cwd: string) => mustRun(pnpm[0]!, [...pnpm.slice(1), ...args], cwd);

function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => ((stdout += d), (output += d)));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output, stdout }));
  });
}
async function mustRun(cmd: string, args: string[], cwd: string): Promise<Run> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.code}:\n${r.output}`);
  return r;
}

let scratch = "";
let consumer = "";
let esm: Record<string, Probe> = {};
let cjs: Record<string, Probe> = {};
let typecheck: Record<"nodenext" | "bundler", Run>;
/** The workspace's bun or deno (root devDependencies), resolved when its test runs: the installed dist needs no flag on either. */
function runtimeBin(name: "bun" | "deno"): string {
  const dir = dirname(createRequire(join(root, "package.json")).resolve(`${name}/package.json`));
  return name === "bun" ? join(dir, "bin", "bun.exe") : join(dir, "deno");
}
const packageDirs = readdirSync(join(root, "packages")).map((name) => join(root, "packages", name));

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "alloovium-packaging-"));
  if (!relative(root, scratch).startsWith("..")) throw new Error(`${scratch} is inside the workspace; set TMPDIR elsewhere`);
  const tarballs = join(scratch, "tarballs");
  consumer = join(scratch, "consumer");
  mkdirSync(tarballs);
  const phases: string[] = [];
  let last = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    phases.push(`${name} ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  };

  // Turbo replays the build from its cache when `pnpm lint` or an earlier run built the same sources.
  await runPnpm(["exec", "turbo", "run", "build", "--filter=./packages/*", "--output-logs=errors-only"], root);
  lap("build");
  await Promise.all(packageDirs.map((dir) => runPnpm(["pack", "--pack-destination", tarballs], dir)));
  const packed = readdirSync(tarballs);
  if (packed.length !== packageDirs.length) throw new Error(`expected ${packageDirs.length} tarballs, found ${packed.join(", ")}`);

  lap("pack");
  cpSync(join(here, "consumer"), consumer, { recursive: true });
  const dependencies: Record<string, string> = { ...peers };
  for (const dir of packageDirs) {
    const { name, version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; version: string };
    dependencies[name] = `file:${join(tarballs, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`)}`;
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, dependencies }, null, 2));
  await mustRun("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"], consumer);

  lap("npm install");
  const specs = entryPoints.map((e) => e.spec);
  const tsc = join(consumer, "node_modules", "typescript", "bin", "tsc");
  // Bun and Deno run inside their own test (below): a runtime missing here fails that test only.
  const [esmRun, cjsRun, nodenext, bundler] = await Promise.all([
    mustRun(process.execPath, ["probe.mjs", ...specs], consumer),
    mustRun(process.execPath, ["probe.cjs", ...specs], consumer),
    run(process.execPath, [tsc, "-p", "tsconfig.nodenext.json"], consumer),
    run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], consumer),
  ]);
  esm = JSON.parse(esmRun.stdout) as Record<string, Probe>;
  cjs = JSON.parse(cjsRun.stdout) as Record<string, Probe>;
  typecheck = { nodenext, bundler };
  lap("import, require and tsc");
  console.log(`[packaging] ${phases.join(", ")}`); // for whoever wonders where the time goes; not asserted
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function installedFile(probe: Probe | undefined): string {
  expect(probe?.error).toBeUndefined();
  const path = probe!.resolved!.startsWith("file:") ? fileURLToPath(probe!.resolved!) : probe!.resolved!;
  expect(relative(consumer, path).startsWith(join("node_modules", "@alloovium"))).toBe(true);
  return path;
}
function expectFunctions(probe: Probe | undefined, names: string[]) {
  const types = Object.fromEntries(names.map((n) => [n, probe?.exports?.[n]]));
  expect(types).toEqual(Object.fromEntries(names.map((n) => [n, "function"])));
}

/**
 * tsc's errors in the user's files and in the installed @alloovium packages (skipLibCheck is off
 * so that our declarations are checked too). Other packages' own declarations are not ours to
 * test: @types/koa 3.0 names a `contentDisposition.Options` that content-disposition 1.x no
 * longer declares. A tsc that failed without a diagnostic line counts as an error too.
 */
function ownErrors(r: Run): string[] {
  const lines = r.output.split("\n").filter((l) => /error TS\d+/.test(l));
  const own = lines.filter((l) => !l.startsWith("node_modules/") || l.startsWith("node_modules/@alloovium/"));
  if (r.code !== 0 && lines.length === 0) own.push(`tsc exited ${r.code}: ${r.output}`);
  return own;
}

describe("the packed packages, installed with npm outside the workspace", () => {
  it("lists every entry point that the installed packages export", () => {
    const exported = packageDirs.flatMap((dir) => {
      const name = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string }).name;
      const installed = JSON.parse(readFileSync(join(consumer, "node_modules", name, "package.json"), "utf8")) as { exports: Record<string, unknown> };
      return Object.keys(installed.exports)
        .filter((subpath) => subpath !== "./package.json")
        .map((subpath) => (subpath === "." ? name : `${name}/${subpath.slice(2)}`));
    });
    expect(exported.sort()).toEqual(entryPoints.map((e) => e.spec).sort());
  });

  it("resolves every package's @alloovium/core dependency to the one packed core", () => {
    for (const dir of readdirSync(join(consumer, "node_modules", "@alloovium"))) {
      expect(readdirSync(join(consumer, "node_modules", "@alloovium", dir))).not.toContain("node_modules");
    }
  });

  for (const { spec, functions, esmOnly } of entryPoints) {
    it(`imports ${spec} from an ES module`, () => {
      expect(installedFile(esm[spec])).toMatch(/\/dist\/.+\.js$/);
      expectFunctions(esm[spec], functions);
    });

    if (esmOnly) {
      it(`refuses require("${spec}") from CommonJS: it is ESM-only`, () => {
        expect(cjs[spec]?.error?.code).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
        expect(cjs[spec]?.error?.message).toContain(`./${spec.split("/").slice(2).join("/")}`);
      });
    } else {
      it(`requires ${spec} from CommonJS`, () => {
        expect(installedFile(cjs[spec])).toMatch(/\/dist\/.+\.cjs$/);
        expectFunctions(cjs[spec], functions);
      });
    }
  }

  // nodenext, not node16: the CommonJS builds need require() of ESM (Node >= 20.19, the engines
  // range), as jose is ESM-only, and node16 models a Node without it (TS1479 on jose's types).
  it("type-checks a user's ES and CommonJS files against the installed types (moduleResolution nodenext)", () => {
    expect(ownErrors(typecheck.nodenext)).toEqual([]);
  });

  it("type-checks a user's ES module against the installed types (moduleResolution bundler)", () => {
    expect(ownErrors(typecheck.bundler)).toEqual([]);
  });

  it.each(["bun", "deno"] as const)("runs @alloovium/core, @alloovium/hono and @alloovium/redis as installed on %s, through app.fetch", async (runtime) => {
    const args = runtime === "bun" ? ["runtimes.mjs"] : ["run", "--allow-all", "--no-lock", "runtimes.mjs"];
    const r = JSON.parse((await mustRun(runtimeBin(runtime), args, consumer)).stdout) as Record<string, unknown>;
    expect(r["runtime"]).toBe(runtime);
    expect(r["redisStores"]).toBe("function");
    expect(r["me"]).toMatchObject({ status: 200, ratelimit: '"tokens";q=600;w=60, "credits";q=100000', body: { auth_method: "api_key" } });
    expect(r["none"]).toMatchObject({ status: 401, body: { code: "missing_credentials" } });
    expect(r["duplicate"]).toMatchObject({ status: 400, body: { code: "duplicate_credentials" } });
    expect(r["first"]).toMatchObject({ status: 201, replayed: null, body: { n: 1, got: { a: 1 } } });
    expect(r["replay"]).toMatchObject({ status: 201, replayed: "true", body: { n: 1, got: { a: 1 } } });
    expect(r["missing"]).toMatchObject({ status: 400, body: { code: "credential_location_not_allowed", location: "query" } });
  }, 120_000);

  it("ships @alloovium/postgres's SQL migrations, found from the ES and the CommonJS build, and its alloovium-postgres command", async () => {
    const esmCount = await mustRun(process.execPath, ["--input-type=module", "-e", 'import { migrations } from "@alloovium/postgres"; console.log(migrations().map((m) => m.version).join(","))'], consumer);
    const cjsCount = await mustRun(process.execPath, ["-e", 'console.log(require("@alloovium/postgres").migrations().map((m) => m.version).join(","))'], consumer);
    expect(esmCount.stdout.trim()).toMatch(/^001,002,003/);
    expect(cjsCount.stdout.trim()).toBe(esmCount.stdout.trim());
    const bin = await run(join(consumer, "node_modules", ".bin", "alloovium-postgres"), [], consumer);
    expect(bin.code).toBe(2);
    expect(bin.output).toMatch(/^usage: alloovium-postgres migrate/);
  });
});

/**
 * `pnpm start`: the run contract of contract section 8. Configuration comes from the
 * environment; a bad value exits non-zero with a message naming the variable.
 */
import { readFileSync } from "node:fs";
import { RATE_LIMIT_TIERS, type RateLimitTier } from "@alloovium/core";
import { FETCH_FRAMEWORKS, FRAMEWORKS, startServer, type Framework, type SeedFile, type StartOptions } from "./server";
import { RUNTIMES, currentRuntime, type Runtime } from "./runtimes";

class ConfigError extends Error {}

function choice<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}; got "${v}"`);
  return v as T;
}

function readJson(name: string, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`${name}: ${path} is not valid JSON`);
  }
}

function configure(): StartOptions {
  const env = process.env;
  const options: StartOptions = {
    framework: choice<Framework>("ALLOOVIUM_FRAMEWORK", FRAMEWORKS, "hono"),
    environment: choice("ALLOOVIUM_ENVIRONMENT", ["live", "test"] as const, "live"),
    host: env["HOST"] || "127.0.0.1",
  };
  // scripts/start.mjs starts the runtime named here; the app checks it runs on it.
  const runtime = choice<Runtime>("ALLOOVIUM_RUNTIME", RUNTIMES, currentRuntime());
  if (runtime !== currentRuntime()) throw new ConfigError(`ALLOOVIUM_RUNTIME is "${runtime}" but src/main.ts runs on ${currentRuntime()}: start it with pnpm start`);
  if (runtime !== "node" && !FETCH_FRAMEWORKS.includes(options.framework)) {
    throw new ConfigError(`ALLOOVIUM_FRAMEWORK must be ${FETCH_FRAMEWORKS.join(", ")} on ALLOOVIUM_RUNTIME=${runtime} (served with app.fetch); got "${options.framework}", which runs on node`);
  }
  options.runtime = runtime;
  const port = env["PORT"];
  if (port !== undefined && port !== "") {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new ConfigError(`PORT must be an integer from 0 to 65535; got "${port}"`);
    options.port = Number(port);
  }
  if (env["REDIS_URL"]) {
    if (!/^rediss?:\/\//.test(env["REDIS_URL"])) throw new ConfigError("REDIS_URL must start with redis:// or rediss://");
    options.redisUrl = env["REDIS_URL"];
  }
  const redisKeyPrefix = env["ALLOOVIUM_REDIS_KEY_PREFIX"];
  if (redisKeyPrefix !== undefined && redisKeyPrefix !== "") {
    if (!/^[\x21-\x7e]{1,200}$/.test(redisKeyPrefix)) throw new ConfigError("ALLOOVIUM_REDIS_KEY_PREFIX must be 1 to 200 visible ASCII characters");
    options.redisKeyPrefix = redisKeyPrefix;
  }
  if (env["DATABASE_URL"]) {
    if (!/^postgres(ql)?:\/\//.test(env["DATABASE_URL"])) throw new ConfigError("DATABASE_URL must start with postgres:// or postgresql://");
    options.databaseUrl = env["DATABASE_URL"];
    const schema = env["ALLOOVIUM_DATABASE_SCHEMA"];
    if (schema !== undefined && schema !== "") {
      if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema)) throw new ConfigError(`ALLOOVIUM_DATABASE_SCHEMA must be a lower-case identifier (a-z, 0-9, _; at most 40 characters); got "${schema}"`);
      options.databaseSchema = schema;
    }
  }
  if (env["ALLOOVIUM_SEED_FILE"]) options.seed = readJson("ALLOOVIUM_SEED_FILE", env["ALLOOVIUM_SEED_FILE"]) as SeedFile;
  const jwksFile = env["ALLOOVIUM_OAUTH_JWKS_FILE"];
  const issuer = env["ALLOOVIUM_OAUTH_ISSUER"];
  if (jwksFile || issuer) {
    if (!jwksFile || !issuer) throw new ConfigError("ALLOOVIUM_OAUTH_JWKS_FILE and ALLOOVIUM_OAUTH_ISSUER must be set together");
    const jwks = readJson("ALLOOVIUM_OAUTH_JWKS_FILE", jwksFile) as { keys?: unknown };
    if (!jwks || !Array.isArray(jwks.keys)) throw new ConfigError("ALLOOVIUM_OAUTH_JWKS_FILE must hold a JWKS: {\"keys\": [...]}");
    options.oauth = { jwks: { keys: jwks.keys as object[] }, issuer, audience: env["ALLOOVIUM_OAUTH_AUDIENCE"] || "https://api.alloovium.com" };
  }
  const tenantBucket = env["ALLOOVIUM_TENANT_BUCKET"];
  if (tenantBucket !== undefined && tenantBucket !== "") {
    // `<capacity>:<refillPerSecond>`, e.g. 1200:20: 1,200 tokens shared by a tenant's keys, 20 a
    // second; or per tier, `pro=1200:20,enterprise=5000:80` (tiers not named have none).
    const size = (text: string) => {
      const m = /^(\d{1,9}):(\d{1,9}(?:\.\d{1,6})?)$/.exec(text);
      if (!m || Number(m[1]) < 1 || Number(m[2]) <= 0) {
        throw new ConfigError(
          `ALLOOVIUM_TENANT_BUCKET must be <capacity>:<refillPerSecond> (e.g. 1200:20), a positive integer and a positive number, or <tier>=<capacity>:<refillPerSecond>,… ; got "${tenantBucket}"`,
        );
      }
      return { capacity: Number(m[1]), refillPerSecond: Number(m[2]) };
    };
    if (!tenantBucket.includes("=")) options.tenantBucket = size(tenantBucket);
    else {
      const tiers: Partial<Record<RateLimitTier, { capacity: number; refillPerSecond: number }>> = {};
      for (const entry of tenantBucket.split(",")) {
        const [tier = "", value = ""] = entry.split("=");
        if (!(RATE_LIMIT_TIERS as readonly string[]).includes(tier)) throw new ConfigError(`ALLOOVIUM_TENANT_BUCKET: the tier must be one of ${RATE_LIMIT_TIERS.join(", ")}; got "${tier}"`);
        tiers[tier as RateLimitTier] = size(value);
      }
      options.tenantBucket = tiers;
    }
  }
  const maxActiveKeys = env["ALLOOVIUM_MAX_ACTIVE_KEYS"];
  if (maxActiveKeys !== undefined && maxActiveKeys !== "") {
    if (!/^\d{1,9}$/.test(maxActiveKeys) || Number(maxActiveKeys) < 1) throw new ConfigError(`ALLOOVIUM_MAX_ACTIVE_KEYS must be an integer >= 1; got "${maxActiveKeys}"`);
    options.maxActiveKeys = Number(maxActiveKeys);
  }
  const metrics: { -readonly [K in keyof NonNullable<StartOptions["metrics"]>]: NonNullable<StartOptions["metrics"]>[K] } = {};
  const metricsPort = env["ALLOOVIUM_METRICS_PORT"];
  if (metricsPort !== undefined && metricsPort !== "") {
    if (!/^\d{1,5}$/.test(metricsPort) || Number(metricsPort) > 65535) throw new ConfigError(`ALLOOVIUM_METRICS_PORT must be an integer from 0 to 65535; got "${metricsPort}"`);
    metrics.prometheusPort = Number(metricsPort);
  }
  const otlp = env["OTEL_EXPORTER_OTLP_ENDPOINT"];
  if (otlp !== undefined && otlp !== "") {
    let url: URL | undefined;
    try {
      url = new URL(otlp);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") {
      throw new ConfigError(`OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL without a query (the metrics go to <endpoint>/v1/metrics); got "${otlp}"`);
    }
    metrics.otlpEndpoint = otlp;
    const interval = env["OTEL_METRIC_EXPORT_INTERVAL"];
    if (interval !== undefined && interval !== "") {
      if (!/^\d{1,9}$/.test(interval) || Number(interval) < 1) throw new ConfigError(`OTEL_METRIC_EXPORT_INTERVAL must be a whole number of milliseconds >= 1; got "${interval}"`);
      metrics.otlpIntervalMs = Number(interval);
    }
  }
  if (Object.keys(metrics).length > 0) options.metrics = metrics;
  const pepper = env["ALLOOVIUM_KEY_PEPPER"];
  if (pepper !== undefined && pepper !== "") {
    if (Buffer.byteLength(pepper) < 16) throw new ConfigError("ALLOOVIUM_KEY_PEPPER must be at least 16 bytes");
    options.pepper = pepper;
  }
  return options;
}

async function main(): Promise<void> {
  let options: StartOptions;
  try {
    options = configure();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  const server = await startServer(options).catch((e: unknown) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
  if (server.demoKey) {
    console.log(`demo key (every scope, shown once): ${server.demoKey}`);
  }
  console.log(`listening on ${server.url}`);
  if (server.metricsUrl) console.log(`metrics for Prometheus: ${server.metricsUrl}`);
  console.log(`Developer Console: ${server.url}/console`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  // Set by scripts/start.mjs, whose pipe is our stdin: its end means the launcher is gone (even
  // killed with SIGKILL), and the app must not outlive it.
  if (process.env["ALLOOVIUM_EXIT_WITH_PARENT"] === "1") {
    process.stdin.on("end", () => stop("launcher gone")).on("error", () => stop("launcher gone"));
    process.stdin.resume();
  }
}

void main();

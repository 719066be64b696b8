import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  DEFAULT_CREDIT_GRANT,
  MemoryKeyStore,
  answerClientErrors,
  createKeyHasher,
  createKeyManager,
  createOAuthVerifier,
  createPolicy,
  policyError,
  type JwksSource,
  type KeyStore,
  type PolicyOptions,
  type PolicyStores,
} from "@alloovium/core";
import { createInstrumentedPolicy } from "@alloovium/core/otel";
import { capabilities } from "./capabilities";
import { consoleAssets } from "./console";
import { buildExpressApp } from "./frameworks/express";
import { buildFastifyApp } from "./frameworks/fastify";
import { buildNestApp } from "./frameworks/nestjs";
import { buildHonoApp } from "./frameworks/hono";
import { buildKoaApp } from "./frameworks/koa";
import type { BuildApp } from "./frameworks/types";
import { createRoutes } from "./handlers";
import { openApiAsset } from "./openapi";
import { ProjectStore } from "./projects";
import { RUNTIMES, currentRuntime, serveFetch, type Runtime } from "./runtimes";
import { insertSeedRecords, seedCreditGrants, seedDemo, seedRecords, type SeedFile } from "./seed";
import { connectStores, type StoreWiring } from "./stores";
import { requestLogging } from "./request-log";
import { startMetrics, type MetricsOptions, type RunningMetrics } from "./telemetry";

export type { SeedFile } from "./seed";
export type { Runtime } from "./runtimes";

export type Framework = "hono" | "express" | "koa" | "fastify" | "nestjs";

export interface StartOptions {
  framework: Framework;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 8787; 0 = any free port */
  port?: number;
  /** @default "live" */
  environment?: "live" | "test";
  /** Without it: a demo tenant, user and one ak_test_ key with every scope. */
  seed?: SeedFile;
  /** When set, Redis stores; else memory. */
  redisUrl?: string;
  /** @default "alloovium" */
  redisKeyPrefix?: string;
  /** When set, every store in PostgreSQL (the schema migrated at start); else as `redisUrl` says. */
  databaseUrl?: string;
  /** The PostgreSQL schema (a lower-case identifier). @default "alloovium" */
  databaseSchema?: string;
  /** OAuth on when given. */
  oauth?: { jwks: { keys: object[] }; issuer: string; audience?: string };
  /** HMAC pepper; default a development pepper (with a warning via log). */
  pepper?: string;
  /** @default 1 MiB */
  bodyLimitBytes?: number;
  /** @default console.log; never receives a raw seed key */
  log?: (line: string) => void;
  /**
   * A tenant-wide bucket shared by all of a tenant's credentials (contract section 4; core's
   * `tenantBucket`): one size for every tenant, per tier, or a function of the tenant.
   * @default none
   */
  tenantBucket?: PolicyOptions["tenantBucket"];
  /** The most active keys a tenant may hold (`createKeyManager`'s `maxActiveKeys`). @default 100 */
  maxActiveKeys?: number;
  /**
   * Where to serve: `node` (`node:http`), `bun` (`Bun.serve`) or `deno` (`Deno.serve`), the
   * latter two with the app's `fetch` (Hono only). Must be the runtime this process runs on.
   * @default the runtime this process runs on
   */
  runtime?: Runtime;
  /**
   * The policy's OpenTelemetry metrics (`@alloovium/core/otel`): for Prometheus on a port of its
   * own (`http://host:port/metrics`) and/or pushed to an OTLP endpoint. @default none
   */
  metrics?: MetricsOptions;
  /** One JSON line per request through `log` (see the README, "Logs and metrics"); the HTTP bench turns it off, as its peer stacks log nothing. @default true */
  requestLog?: boolean;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** Only when no seed. */
  demoKey?: string;
  /** `http://host:port/metrics`, when `metrics.prometheusPort` is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

export const FRAMEWORKS: readonly Framework[] = ["hono", "express", "koa", "fastify", "nestjs"];

/** The frameworks with a Web-standard `fetch` (Request in, Response out): what Bun and Deno serve. */
export const FETCH_FRAMEWORKS: readonly Framework[] = ["hono"];

/** For development only: every deployment sets ALLOOVIUM_KEY_PEPPER. */
export const DEVELOPMENT_PEPPER = "alloovium-sample-development-pepper";

const BUILDERS: Record<Framework, BuildApp> = { hono: buildHonoApp, express: buildExpressApp, koa: buildKoaApp, fastify: buildFastifyApp, nestjs: buildNestApp };

/**
 * Starts the v2 sample API on one framework, in-process.
 * @example
 * const server = await startServer({ framework: "koa", port: 0 });
 * await fetch(`${server.url}/api/v2/me`, { headers: { authorization: `Bearer ${server.demoKey}` } });
 * await server.close();
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const build = BUILDERS[options?.framework];
  if (!build) throw new TypeError(`startServer: \`framework\` must be one of ${FRAMEWORKS.join(", ")}`);
  const runtime = options.runtime ?? currentRuntime();
  if (!RUNTIMES.includes(runtime)) throw new TypeError(`startServer: \`runtime\` must be one of ${RUNTIMES.join(", ")}`);
  if (runtime !== currentRuntime()) throw new TypeError(`startServer: \`runtime\` is "${runtime}" but this process runs on ${currentRuntime()}`);
  if (runtime !== "node" && !FETCH_FRAMEWORKS.includes(options.framework)) {
    throw new TypeError(`startServer: on ${runtime} the app is served with Request in, Response out: \`framework\` must be ${FETCH_FRAMEWORKS.join(", ")} (${options.framework} runs on node)`);
  }
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError("startServer: `port` must be an integer from 0 to 65535");
  const environment = options.environment ?? "live";
  if (environment !== "live" && environment !== "test") throw new TypeError('startServer: `environment` must be "live" or "test"');
  if (options.pepper === undefined) log("warning: no key pepper configured (ALLOOVIUM_KEY_PEPPER); using the development pepper");
  const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: options.pepper ?? DEVELOPMENT_PEPPER }] });
  const records = options.seed ? seedRecords(options.seed, keyHasher) : [];
  const grants = options.seed ? seedCreditGrants(options.seed) : new Map<string, number>();
  const grantOf = (tenantId: string) => grants.get(tenantId) ?? DEFAULT_CREDIT_GRANT;

  let shared: StoreWiring | undefined;
  let metrics: RunningMetrics | undefined;
  let keyStore: KeyStore = new MemoryKeyStore();
  // Balances and usage live where the admission charges them: the policy's memory store, or
  // Redis (`@alloovium/redis`'s admission charges its credit store), shared by every instance.
  const extra: { -readonly [K in keyof PolicyOptions]?: PolicyOptions[K] } = { creditGrant: grantOf };
  if (options.tenantBucket !== undefined) extra.tenantBucket = options.tenantBucket;
  let stores: PolicyStores = { keys: keyStore };
  shared = await connectStores(options, log);
  if (shared) {
    keyStore = shared.stores.keys;
    stores = shared.stores;
  }
  try {
    if (options.metrics && (options.metrics.prometheusPort !== undefined || options.metrics.otlpEndpoint !== undefined)) metrics = await startMetrics(options.metrics, host);
    // Missing records only: a restart with the same seed never undoes a revocation or a roll.
    await insertSeedRecords(keyStore, records, log);
    const demoKey = options.seed ? undefined : await seedDemo(keyStore, keyHasher);
    if (options.oauth) {
      const { jwks, issuer, audience } = options.oauth;
      extra.oauth = createOAuthVerifier({ jwks: jwks as JwksSource, issuer, ...(audience === undefined ? {} : { audience }) });
    }
    const meterProvider = metrics?.meterProvider;
    const makePolicy = meterProvider ? (o: PolicyOptions) => createInstrumentedPolicy(o, { meterProvider }) : createPolicy;
    const policy = makePolicy({
      environment,
      keyHasher,
      stores,
      ...extra,
      onStoreError: (error, operation) => log(`store error during ${operation}: ${error instanceof Error ? error.message : "unknown"}`),
    });
    await shared?.watch(policy.keyCache);
    // The policy's stores, hasher and environment: a revoke, roll or scope change drops this
    // process's cached verification at once; with Redis, the key store's put also publishes the
    // digest to every other instance.
    const keys = createKeyManager({
      policy,
      onStoreError: (error, operation) => log(`key store error during ${operation}: ${error instanceof Error ? error.message : "unknown"}`),
      ...(options.maxActiveKeys === undefined ? {} : { maxActiveKeys: options.maxActiveKeys }),
    });

    // One JSON line per request: the adapters are bound to the logging policy, the server to its listener.
    const logging = options.requestLog === false ? undefined : requestLogging(policy, ["/healthz", ...consoleAssets().map((a) => a.path)], log);
    const listener = await build({
      policy: logging?.policy ?? policy,
      capabilities,
      routes: createRoutes({ projects: new ProjectStore(), keys, usage: (tenantId) => policy.usage(tenantId) }),
      statics: [...consoleAssets(), openApiAsset(options.oauth?.issuer)],
      log,
      ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    });
    const urlOf = (p: number) => `http://${host.includes(":") ? `[${host}]` : host}:${p}`;
    if (runtime !== "node") {
      // Bun.serve / Deno.serve with app.fetch. Their HTTP parsers answer malformed requests
      // themselves (no answerClientErrors there); an error Hono did not answer is a bare 500 problem.
      const internal = policy.reject(policyError("internal_error", "The server failed to complete the request.")).response;
      const fallback = () => new Response(internal.body, { status: internal.status, headers: internal.headers });
      const served = await serveFetch(runtime, logging ? logging.fetch(listener.fetch!) : listener.fetch!, port, host, fallback);
      let stopping: Promise<void> | undefined;
      const stop = async () => {
        await served.close();
        await metrics?.close();
        await shared?.close();
      };
      return { url: urlOf(served.port), ...(demoKey === undefined ? {} : { demoKey }), close: () => (stopping ??= stop()) };
    }
    const server = createServer(logging ? logging.listen(listener) : listener);
    // The HTTP server's own refusals (bad framing, oversized headers, no Host) as problems too.
    answerClientErrors(server);
    await listen(server, port, host);
    const address = server.address() as AddressInfo;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${urlHost}:${address.port}`,
      ...(demoKey === undefined ? {} : { demoKey }),
      ...(metrics?.prometheusUrl === undefined ? {} : { metricsUrl: metrics.prometheusUrl }),
      close: () =>
        (closing ??= (async () => {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
          await metrics?.close();
          await shared?.close();
        })()),
    };
  } catch (e) {
    await metrics?.close();
    await shared?.close();
    throw e;
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

import { inject } from "vitest";
import { randomUUID } from "node:crypto";
import { startServer, type Framework, type RunningServer, type StartOptions } from "../../../src/server";
import type { Runtime } from "../../../src/runtimes";
import { createClient, type Client } from "./http";
import { startSpawnedServer } from "./spawned";
import type { Fixture } from "./seed";

const ALL_FRAMEWORKS: readonly Framework[] = ["hono", "express", "koa", "fastify", "nestjs"];

/**
 * Every framework, or the comma-separated subset in `CONFORMANCE_FRAMEWORKS` (for debugging one
 * binding; CI leaves it unset).
 */
export const FRAMEWORKS: readonly Framework[] = (() => {
  const only = process.env.CONFORMANCE_FRAMEWORKS?.split(",").map((s) => s.trim()).filter(Boolean);
  return only && only.length > 0 ? ALL_FRAMEWORKS.filter((f) => only.includes(f)) : ALL_FRAMEWORKS;
})();

/**
 * Which stores the app runs on; with `runtime`, on Bun or Deno: `pnpm start` in a process of its
 * own (support/spawned.ts), configured through its environment variables, its log lines read
 * from its output (runtimes.test.ts).
 */
export type StoreVariant = (
  | { readonly name: "memory" }
  | { readonly name: "redis"; readonly url: string }
  | { readonly name: "postgres"; readonly url: string }
  /** Redis in front of PostgreSQL (DATABASE_URL and REDIS_URL together). */
  | { readonly name: "redis-postgres"; readonly url: string; readonly databaseUrl: string }
) & { readonly runtime?: Exclude<Runtime, "node"> };

export const MEMORY: StoreVariant = { name: "memory" };

/**
 * False on Bun and Deno: their servers hand the app a Fetch `Request`, which has no body on GET
 * and HEAD. A GET or HEAD that announces a body is then refused unread (400
 * `credential_location_not_allowed`, location `body`: what it held cannot be screened), so the
 * cases that send one expect that answer, or send their body with POST, there.
 */
export function seesRawRequest(variant: StoreVariant | undefined): boolean {
  return variant?.runtime === undefined;
}

/**
 * False on Bun only: its server rebuilds `request.url` from the request target without the
 * userinfo of an absolute-form target (`GET http://user@x/healthz`); Node's raw target and
 * Deno's `request.url` keep it.
 */
export function seesUserinfo(variant: StoreVariant | undefined): boolean {
  return variant?.runtime !== "bun";
}

/** The Redis variant of the suite. */
declare module "vitest" {
  export interface ProvidedContext {
    /** Provided by packages/redis/test/global-setup.ts. */
    redisUrl: string;
    /** Provided by packages/postgres/test/global-setup.ts. */
    databaseUrl: string;
  }
}

/** The PostgreSQL variant: packages/postgres/test/global-setup.ts finds DATABASE_URL, 127.0.0.1:5432 or starts a throwaway server. */
export function postgresVariant(): StoreVariant {
  return { name: "postgres", url: process.env.CONFORMANCE_DATABASE_URL ?? inject("databaseUrl") };
}

/** Redis in front of PostgreSQL: the two variants' servers together (`redisUrl` overrides the Redis, e.g. a throwaway one). */
export function redisPostgresVariant(redisUrl?: string): StoreVariant {
  const pg = postgresVariant() as { readonly url: string };
  return { name: "redis-postgres", url: redisUrl ?? process.env.CONFORMANCE_REDIS_URL ?? inject("redisUrl"), databaseUrl: pg.url };
}

export function redisVariant(): StoreVariant {
  // The Redis package's global setup (see vitest.config.ts) finds REDIS_URL or starts a server;
  // CONFORMANCE_REDIS_URL points this suite at another one.
  const url = process.env.CONFORMANCE_REDIS_URL ?? inject("redisUrl");
  return { name: "redis", url };
}

/** A running app, a client bound to it and everything it logged. */
export interface App {
  readonly server: RunningServer;
  readonly client: Client;
  readonly logLines: string[];
  close(): Promise<void>;
}

/** Starts the sample app on 127.0.0.1, a free port, with the fixture's seed. */
export async function startApp(
  framework: Framework,
  variant: StoreVariant,
  fixture: Fixture,
  extra: Partial<Omit<StartOptions, "framework" | "seed">> = {},
): Promise<App> {
  const logLines: string[] = [];
  const options: StartOptions = {
    framework,
    host: "127.0.0.1",
    port: 0,
    seed: fixture.seed,
    pepper: "conformance-suite-pepper",
    log: (line: string) => {
      logLines.push(line);
    },
    ...extra,
  };
  let prefix: string | undefined;
  if (variant.name === "redis" || variant.name === "redis-postgres") {
    // A prefix per server: three frameworks and reruns never share a bucket or a record.
    prefix = `conformance:${framework}:${randomUUID()}`;
    Object.assign(options, { redisUrl: variant.url, redisKeyPrefix: prefix });
  }
  let schema: string | undefined;
  const databaseUrl = variant.name === "postgres" ? variant.url : variant.name === "redis-postgres" ? variant.databaseUrl : undefined;
  if (databaseUrl !== undefined) {
    // A schema per server, migrated at its start and dropped when it closes.
    schema = extra.databaseSchema ?? `conformance_${framework}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    Object.assign(options, { databaseUrl, databaseSchema: schema });
  }
  const server = await (variant.runtime ? startSpawnedServer(variant.runtime, framework, options, options.log!) : startServer(options)).catch(async (e: unknown) => {
    if (schema && databaseUrl) await dropSchema(databaseUrl, schema);
    throw e;
  });
  const close = async () => {
    await server.close();
    if ((variant.name === "redis" || variant.name === "redis-postgres") && prefix) await deleteByPrefix(variant.url, prefix).catch(() => {});
    if (schema && databaseUrl && extra.databaseSchema === undefined) await dropSchema(databaseUrl, schema);
  };
  return { server, client: createClient(server.url), logLines, close };
}

/**
 * `startServer(options)` where the variant runs: in this process on Node, or `pnpm start` on the
 * variant's runtime (a refusal to start rejects with the app's output, which holds its message).
 */
export function startServerOn(variant: StoreVariant, options: StartOptions): Promise<RunningServer> {
  return variant.runtime ? startSpawnedServer(variant.runtime, options.framework, options, options.log ?? (() => {})) : startServer(options);
}

/** Leaves PostgreSQL as it was: drops the schema one server used. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Leaves Redis as it was: deletes every key this server wrote (they all start with its prefix). */
export async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * Finds the Redis the tests run against (`REDIS_URL`, default redis://127.0.0.1:6379), or
 * starts one when none answers and `redis-server` is on PATH. A missing Redis fails the run
 * (under CI=true and elsewhere) with a message saying what to do: never a silent skip.
 * Each run gets a random key prefix, and its keys are deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";
import { RedisServer, deleteKeys, hasRedisServer, pings } from "./redis-server";

declare module "vitest" {
  export interface ProvidedContext {
    /** The Redis the tests use. */
    redisUrl: string;
    /** This run's key prefix (no braces); every test key starts with it. */
    keyPrefix: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  let started: RedisServer | null = null;
  if (!(await pings(url))) {
    if (!hasRedisServer()) {
      throw new Error(
        `@alloovium/redis tests need Redis: nothing answers at ${url} and redis-server is not on PATH. ` +
          `Start Redis 7 (e.g. \`docker run -p 6379:6379 redis:7\`) or set REDIS_URL.` +
          (process.env.CI === "true" ? " (CI=true: the suite does not skip.)" : ""),
      );
    }
    started = await RedisServer.start();
    url = started.url;
  }
  const keyPrefix = `alloovium-test-${randomBytes(6).toString("hex")}`;
  project.provide("redisUrl", url);
  project.provide("keyPrefix", keyPrefix);
  process.env.ALLOOVIUM_TEST_REDIS_URL = url;

  return async () => {
    const c = new Redis(url, { maxRetriesPerRequest: 1 });
    c.on("error", () => {});
    try {
      await deleteKeys(c, keyPrefix);
    } finally {
      c.disconnect();
      await started?.destroy();
    }
  };
}

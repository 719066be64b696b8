import { bucketStoreConformance, creditStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "@alloovium/core/conformance";
import { afterAll } from "vitest";
import { deleteKeys, sleep } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { RedisBucketStore } from "./buckets";
import { RedisCreditStore } from "./credits";
import { RedisIdempotencyStore } from "./idempotency";
import { RedisKeyStore } from "./key-store";

// The server's clock is real: `advance` waits.
const client = testClient();
const keyPrefix = testPrefix("conformance");
// Generous: a loaded 2-core machine must not turn a slow answer into a fallback.
const commandTimeoutMs = 5000;

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

bucketStoreConformance("RedisBucketStore (standalone)", () => ({
  store: new RedisBucketStore({ client, keyPrefix, commandTimeoutMs, failure: "closed" }),
  advance: sleep,
}));

idempotencyStoreConformance("RedisIdempotencyStore (standalone)", () => ({
  store: new RedisIdempotencyStore({ client, keyPrefix, commandTimeoutMs }),
  advance: sleep,
}));

keyStoreConformance("RedisKeyStore (standalone)", () => ({ store: new RedisKeyStore({ client, keyPrefix, commandTimeoutMs }) }));

creditStoreConformance("RedisCreditStore (standalone)", () => ({
  store: new RedisCreditStore({ client, keyPrefix, commandTimeoutMs }),
  now: async () => {
    const [sec, usec] = await client.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  },
}));

import { randomUUID } from "node:crypto";
import { bucketStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "@alloovium/core/conformance";
import { createKeyHasher, createVerifiedKeyCache, type VerifiedKeyCache } from "@alloovium/core";
import { mintApiKey, TEST_PEPPER } from "@alloovium/core/testing";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStores, RedisBucketStore, RedisIdempotencyStore, RedisKeyStore } from "../src/index";
import { LocalCluster, sleep, waitFor } from "./redis-server";

// A 3-master Cluster on local ports, started for this file and stopped after it. The suites'
// setup functions run in beforeEach, after beforeAll has started it.
let cluster: LocalCluster;
let client: Cluster;
const keyPrefix = "alloovium-cluster";
const commandTimeoutMs = 5000;

beforeAll(async () => {
  cluster = await LocalCluster.start();
  client = cluster.client();
  await client.ping();
});

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

bucketStoreConformance("RedisBucketStore (3-master Cluster)", () => ({
  store: new RedisBucketStore({ client, keyPrefix, commandTimeoutMs, failure: "closed" }),
  advance: sleep,
}));

idempotencyStoreConformance("RedisIdempotencyStore (3-master Cluster)", () => ({
  store: new RedisIdempotencyStore({ client, keyPrefix, commandTimeoutMs }),
  advance: sleep,
}));

keyStoreConformance("RedisKeyStore (3-master Cluster)", () => ({ store: new RedisKeyStore({ client, keyPrefix, commandTimeoutMs }) }));

describe("RedisAdmission on a Cluster", () => {
  it("claims and takes the cost in one script for tenants spread over every master", async () => {
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs, buckets: { failure: "closed" } });
    const slots = new Set<number>();
    const limits = { capacity: 3, refillPerSecond: 0.0001 };
    for (let i = 0; i < 24; i++) {
      const tenantId = randomUUID();
      const ref = { tenantId, scope: "u1:live", key: `k-${i}` };
      const first = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 } });
      expect(first.bucket).toMatchObject({ allowed: true, remaining: 2 });
      expect(first.claim?.outcome).toBe("claimed");
      const again = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 } });
      expect(again.bucket.remaining).toBe(1);
      expect(again.claim).toEqual({ outcome: "in_flight" });
      slots.add(Number(await client.cluster("KEYSLOT", `${keyPrefix}:{${tenantId}}:b:key:a`)));
    }
    expect(slots.size).toBeGreaterThan(1);
  });

  it("delivers a key invalidation published on the Cluster", async () => {
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs });
    const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const cache: VerifiedKeyCache = createVerifiedKeyCache({ store: stores.keyStore, hasher, ttlMs: 60_000 });
    const subscriber = client.duplicate();
    subscriber.on("error", () => {});
    const stop = await stores.watchKeyInvalidations(cache, subscriber);
    try {
      const { key, record } = await mintApiKey(stores.keyStore, hasher, { tenantId: randomUUID() });
      expect((await cache.lookup(key))?.revoked_at).toBeNull();
      await stores.keyStore.put({ ...record, revoked_at: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation", async () => (await cache.lookup(key))?.revoked_at === "2026-11-23T09:00:00.000Z", 10_000);
    } finally {
      await stop();
      subscriber.disconnect();
    }
  });
});

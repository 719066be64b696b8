import { randomUUID } from "node:crypto";
import { bucketStoreConformance, creditStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "@alloovium/core/conformance";
import { createKeyHasher, createVerifiedKeyCache, type VerifiedKeyCache } from "@alloovium/core";
import { mintApiKey, TEST_PEPPER } from "@alloovium/core/testing";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStores, RedisBucketStore, RedisCreditStore, RedisIdempotencyStore, RedisKeyStore } from "../src/index";
import { MemoryCreditLedger } from "./memory-ledger";
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

// The nodes share one machine's clock: any node's TIME is the store's clock.
creditStoreConformance("RedisCreditStore (3-master Cluster)", () => ({
  store: new RedisCreditStore({ client, keyPrefix, commandTimeoutMs }),
  now: async () => {
    const [sec, usec] = await client.nodes("master")[0]!.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  },
}));

describe("Redis in front of a ledger on a Cluster", () => {
  it("queues each tenant's charges in its own slot, flushes every master's queues, and loads a lost balance", async () => {
    const ledger = new MemoryCreditLedger();
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false } });
    const tenants = Array.from({ length: 24 }, () => randomUUID());
    const limits = { capacity: 100, refillPerSecond: 0.0001 };
    const charge = (tenantId: string, key?: string) =>
      stores.admission.admit({
        bucket: { tenantId, id: "key:a" }, cost: 1, limits,
        ...(key === undefined ? {} : { claim: { ref: { tenantId, scope: "u1:live", key }, fingerprint: "fp", leaseMs: 60_000 } }),
        tenant: { ref: { tenantId, id: "tenant" }, limits },
        charge: { capability: "a.b", credits: 3, grant: 30, reservation: randomUUID() },
      });
    for (const t of tenants) {
      expect((await charge(t, "k1")).credits).toMatchObject({ outcome: "charged", balance: 27 });
      expect((await charge(t)).credits).toMatchObject({ outcome: "charged", balance: 24 });
    }
    // One tenant's pending mark is lost: the sweep's SCAN of every master finds its queue.
    await client.srem(`${keyPrefix}:lq:pending`, tenants[0]!);
    await stores.ledgerFlusher!.sweep();
    await stores.ledgerFlusher!.flush();
    for (const t of tenants) expect(await ledger.balance(t)).toBe(24);
    // Redis loses a tenant's balance: loaded from the ledger, on its own node.
    await client.del(`${keyPrefix}:{${tenants[1]}}:cr`);
    expect((await charge(tenants[1]!)).credits).toMatchObject({ outcome: "charged", balance: 21 });
    await stores.ledgerFlusher!.flush();
    expect(await ledger.balance(tenants[1]!)).toBe(21);
    expect(ledger.of(tenants[1]!, "grant")).toHaveLength(1);
  });
});

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

  it("claims, takes the cost and charges in one script, writing the hour's usage in the tenant's slot", async () => {
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs, buckets: { failure: "closed" } });
    const limits = { capacity: 3, refillPerSecond: 0.0001 };
    const charge = { capability: "vault.projects.create", credits: 4, grant: 10 };
    const slots = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const tenantId = randomUUID();
      const ref = { tenantId, scope: "u1:live", key: `k-${i}` };
      const first = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits, charge, claim: { ref, fingerprint: "fp", leaseMs: 60_000 } });
      expect(first.claim?.outcome).toBe("claimed");
      expect(first.credits).toMatchObject({ outcome: "charged", balance: 6, credits: 4 });
      const second = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits, charge });
      expect(second.credits).toMatchObject({ outcome: "charged", balance: 2 });
      const short = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits, charge, claim: { ref: { ...ref, key: "short" }, fingerprint: "fp", leaseMs: 60_000 } });
      expect(short).toEqual({ bucket: expect.objectContaining({ allowed: true }), credits: { outcome: "insufficient", balance: 2 } });
      expect(await stores.idempotency.read({ ...ref, key: "short" })).toBeNull();
      expect((await stores.credits.usage(tenantId, 0)).map((r) => [r.capability, r.calls, r.credits])).toEqual([["vault.projects.create", 2, 8]]);
      if (first.credits?.outcome === "charged") {
        expect(await stores.credits.refund({ tenantId, capability: charge.capability, credits: 4, hour: first.credits.hour, grant: 10 })).toBe(6);
      }
      expect(await stores.credits.add(tenantId, 1, 10)).toBe(7);
      slots.add(Number(await client.cluster("KEYSLOT", `${keyPrefix}:{${tenantId}}:cr`)));
    }
    expect(slots.size).toBeGreaterThan(1);
  });

  it("takes a tenant-wide bucket with the key's in one script, claim and charge included, for tenants on every master", async () => {
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs, buckets: { failure: "closed" } });
    const limits = { capacity: 10, refillPerSecond: 0.0001 };
    const tenantLimits = { capacity: 3, refillPerSecond: 0.0001 };
    const charge = { capability: "vault.projects.create", credits: 1, grant: 10 };
    const slots = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const tenantId = randomUUID();
      const tenant = { ref: { tenantId, id: "tenant" }, limits: tenantLimits };
      const ref = { tenantId, scope: "u1:live", key: `k-${i}` };
      const a = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 2, limits, tenant, charge, claim: { ref, fingerprint: "fp", leaseMs: 60_000 } });
      expect([a.bucket.remaining, a.tenant?.remaining, a.claim?.outcome, a.credits?.outcome]).toEqual([8, 1, "claimed", "charged"]);
      const b = await stores.admission.admit({ bucket: { tenantId, id: "key:b" }, cost: 2, limits, tenant });
      expect([b.bucket.allowed, b.bucket.remaining, b.tenant?.remaining]).toEqual([false, 10, 1]);
      slots.add(Number(await client.cluster("KEYSLOT", `${keyPrefix}:{${tenantId}}:b:tenant`)));
    }
    expect(slots.size).toBeGreaterThan(1);
  });

  it("delivers a key invalidation published on the Cluster", async () => {
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs });
    const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const cache: VerifiedKeyCache = createVerifiedKeyCache({ store: stores.keys, hasher, ttlMs: 60_000 });
    const subscriber = client.duplicate();
    subscriber.on("error", () => {});
    const stop = await stores.watchKeyInvalidations(cache, subscriber);
    try {
      const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
      expect((await cache.lookup(key))?.revoked_at).toBeNull();
      await stores.keys.put({ ...record, revoked_at: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation", async () => (await cache.lookup(key))?.revoked_at === "2026-11-23T09:00:00.000Z", 10_000);
    } finally {
      await stop();
      subscriber.disconnect();
    }
  });
});

import { randomUUID } from "node:crypto";
import { createKeyHasher, createVerifiedKeyCache } from "@alloovium/core";
import { mintApiKey, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedisStores } from "../src/index";
import { testClient, testPrefix } from "./helpers";
import { waitFor } from "./redis-server";
import { Worker } from "./workers";

const url = inject("redisUrl");
const keyPrefix = testPrefix("revocation");
const client = testClient();
const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
// This process is B: it changes keys through its own RedisKeyStore.
const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 10_000 });
let a: Worker;

beforeAll(async () => {
  a = new Worker(url, keyPrefix);
  await a.ready;
});

afterAll(async () => {
  await a?.stop();
  client.disconnect();
});

interface Lookup {
  found: boolean;
  revoked_at: string | null;
  storeReads: number;
}

describe("key revocation across processes", () => {
  it("reaches process A's 60 s cache through pub/sub within 1 second", async () => {
    const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
    // Cached: a second lookup does not ask the store again. (The mint's own invalidation may
    // land during A's first lookup, which then caches nothing: hence the poll.)
    const cached = await waitFor("A to cache the key", async () => {
      const first = await a.run<Lookup>({ type: "lookup", key });
      const second = await a.run<Lookup>({ type: "lookup", key });
      return second.storeReads === first.storeReads ? second : undefined;
    });
    expect(cached).toMatchObject({ found: true, revoked_at: null });

    const revokedAt = "2026-11-23T09:00:00.000Z";
    await stores.keys.put({ ...record, revoked_at: revokedAt });
    const seen = await waitFor("A to see the revocation", async () => {
      const r = await a.run<Lookup>({ type: "lookup", key });
      return r.revoked_at === revokedAt ? r : undefined;
    }, 1000, 10);
    // One more store read: the invalidation, not the 60 s TTL, dropped the entry.
    expect(seen).toEqual({ found: true, revoked_at: revokedAt, storeReads: cached.storeReads + 1 });
  });

  it("makes a rolled key's old digest unknown in process A", async () => {
    const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
    const before = await a.run<Lookup>({ type: "lookup", key });
    expect(before.found).toBe(true);
    await stores.keys.put({ ...record, digest: `test:${randomUUID()}` });
    await waitFor("A to forget the old digest", async () => !(await a.run<Lookup>({ type: "lookup", key })).found, 1000, 10);
  });

  it("clears the cache when the subscriber reconnects, and keeps receiving afterwards", async () => {
    const cache = createVerifiedKeyCache({ store: stores.keys, hasher, ttlMs: 60_000 });
    const subscriber = testClient(url);
    const id = await subscriber.client("ID");
    const stop = await stores.watchKeyInvalidations(cache, subscriber);
    try {
      const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
      // The put's own invalidation may land during the first lookup (which then caches nothing).
      await waitFor("the key to be cached", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      // Messages published while it was away are lost: the reconnect must clear the cache.
      await client.client("KILL", "ID", String(id));
      await waitFor("the cache to be cleared on reconnect", () => cache.size === 0, 10_000);
      await waitFor("the subscriber to be back", () => subscriber.status === "ready", 10_000);
      await waitFor("the key to be cached again", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      await stores.keys.put({ ...record, revoked_at: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation after the reconnect", async () => (await cache.lookup(key))?.revoked_at !== null, 5000);
    } finally {
      await stop();
      subscriber.disconnect();
    }
  });

  it("stops invalidating after unsubscribe", async () => {
    const cache = createVerifiedKeyCache({ store: stores.keys, hasher, ttlMs: 60_000 });
    const subscriber = testClient(url);
    const stop = await stores.watchKeyInvalidations(cache, subscriber);
    await stop();
    const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
    await cache.lookup(key);
    await stores.keys.put({ ...record, revoked_at: "2026-11-23T09:00:00.000Z" });
    // A round trip on the publishing client orders this after the publish reached the server.
    await client.ping();
    expect((await cache.lookup(key))?.revoked_at).toBeNull();
    subscriber.disconnect();
  });
});

import { randomUUID } from "node:crypto";
import { createKeyHasher, createVerifiedKeyCache } from "@alloovium/core";
import { mintApiKey, TEST_PEPPER } from "@alloovium/core/testing";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { deleteKeys, freePort, sleep, waitFor } from "../test/redis-server";
import { testPrefix } from "../test/helpers";
import { MemoryCreditLedger } from "../test/memory-ledger";
import { connectRedisStores, createRedisStores } from "./index";

const url = inject("redisUrl");
const keyPrefix = testPrefix("connect");
const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
const lazy = (u = url) => new Redis(u, { lazyConnect: true, maxRetriesPerRequest: 1 });
const cleanup = new Redis(url);

afterAll(async () => {
  await deleteKeys(cleanup, keyPrefix);
  cleanup.disconnect();
});

/** The TCP sockets and timers this process holds. */
const handles = () => {
  const all = process.getActiveResourcesInfo();
  return { sockets: all.filter((r) => r === "TCPSocketWrap").length, timers: all.filter((r) => r === "Timeout").length };
};

describe("connectRedisStores", () => {
  it("starts the ledger flush once connected, never when the connection fails, and flushes one last time on close", async () => {
    const ledger = new MemoryCreditLedger();
    const refused = `redis://127.0.0.1:${await freePort()}`;
    const told: string[] = [];
    await expect(connectRedisStores({ client: lazy(refused), subscriber: lazy(refused), keyPrefix, ledger, ledgerFlush: { intervalMs: 40 }, onError: (_, op) => void told.push(op) })).rejects.toThrow(/cannot connect/);
    await sleep(200); // a flusher left ticking would have failed a round (told as "ledger-flush") five times by now
    expect(told.filter((op) => op === "ledger-flush")).toEqual([]);
    const redis = await connectRedisStores({ client: lazy(), subscriber: lazy(), keyPrefix, ledger, ledgerFlush: { intervalMs: 3_600_000 } });
    const tenantId = randomUUID();
    const a = await redis.stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits: { capacity: 5, refillPerSecond: 1 }, charge: { capability: "a.b", credits: 2, grant: 10, reservation: "r-close" } });
    expect(a.credits).toMatchObject({ outcome: "charged", balance: 8 });
    await redis.close();
    expect(ledger.of(tenantId).map((e) => e.id)).toEqual([`grant:${tenantId}`, "r-close"]);
  });

  it("connects two lazy connections, builds the stores on them and closes both, once", async () => {
    const client = lazy();
    const subscriber = lazy();
    expect(client.status).toBe("wait");
    const redis = await connectRedisStores({ client, subscriber, keyPrefix });
    expect([client.status, subscriber.status]).toEqual(["ready", "ready"]);
    const r = await redis.stores.buckets.consume({ tenantId: randomUUID(), id: "key:a" }, 1, { capacity: 5, refillPerSecond: 1 });
    expect(r).toMatchObject({ allowed: true, remaining: 4 });
    const first = redis.close();
    expect(redis.close()).toBe(first);
    await first;
    await redis.close();
    expect([client.status, subscriber.status]).toEqual(["end", "end"]);
  });

  it("waits for connections that are already connecting", async () => {
    const client = new Redis(url);
    const subscriber = new Redis(url);
    const redis = await connectRedisStores({ client, subscriber, keyPrefix });
    expect([client.status, subscriber.status]).toEqual(["ready", "ready"]);
    await redis.close();
  });

  it("watch: a put through another instance's stores drops the key from this cache", async () => {
    const redis = await connectRedisStores({ client: lazy(), subscriber: lazy(), keyPrefix });
    const other = new Redis(url);
    try {
      const elsewhere = createRedisStores({ client: other, keyPrefix });
      const cache = createVerifiedKeyCache({ store: redis.stores.keys, hasher, ttlMs: 60_000 });
      await redis.watch(cache);
      const { key, record } = await mintApiKey(elsewhere.keys, hasher, { tenantId: randomUUID() });
      // Cached (the mint's own invalidation may land after a first lookup: hence the poll).
      await waitFor("the key in the cache", async () => (await cache.lookup(key), cache.peek(key)?.id === record.id));
      const revokedAt = "2026-11-23T09:00:00.000Z";
      await elsewhere.keys.put({ ...record, revoked_at: revokedAt });
      // Forgotten long before its 60 s TTL: the invalidation did it.
      await waitFor("the cache to forget the key", () => cache.peek(key) === undefined, 5000, 10);
      expect((await cache.lookup(key))?.revoked_at).toBe(revokedAt);
    } finally {
      other.disconnect();
      await redis.close();
    }
    await expect(redis.watch(createVerifiedKeyCache({ store: redis.stores.keys, hasher, ttlMs: 1000 }))).rejects.toThrow(/after close/);
  });

  it("rejects with the cause when Redis does not answer, reports it once, and leaves no connection open", async () => {
    const before = handles();
    const port = await freePort();
    const client = lazy(`redis://127.0.0.1:${port}`);
    const subscriber = lazy(`redis://127.0.0.1:${port}`);
    const reported: [string, string][] = [];
    await expect(
      connectRedisStores({ client, subscriber, keyPrefix, onError: (e, operation) => reported.push([operation, (e as Error).message]) }),
    ).rejects.toThrow(new RegExp(`^connectRedisStores: cannot connect to Redis: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    // Disconnected: nothing connects again (ioredis leaves a connection that was waiting to retry
    // as `reconnecting`, without its timer).
    for (const c of [client, subscriber]) expect(["end", "reconnecting"]).toContain(c.status);
    // Each connection's error once, not once per retry.
    expect(reported).toEqual([
      ["connection", `connect ECONNREFUSED 127.0.0.1:${port}`],
      ["connection", `connect ECONNREFUSED 127.0.0.1:${port}`],
    ]);
    await waitFor("the sockets and retry timers to be gone", () => {
      const now = handles();
      return now.sockets <= before.sockets && now.timers <= before.timers;
    });
  });

  it("reports each distinct connection error once until the connection is ready again, a Cluster node's too", async () => {
    const client = lazy();
    const subscriber = lazy();
    const seen: string[] = [];
    const redis = await connectRedisStores({ client, subscriber, keyPrefix, onError: (e) => seen.push((e as Error).message) });
    for (const m of ["A", "B", "A", "B", "A"]) client.emit("error", new Error(m));
    subscriber.emit("node error", new Error("C"));
    expect(seen).toEqual(["A", "B", "C"]);
    client.emit("ready");
    client.emit("error", new Error("A"));
    expect(seen).toEqual(["A", "B", "C", "A"]);
    await redis.close();
  });

  it("leaves nothing subscribed when close runs while a watch subscribes", async () => {
    const client = lazy();
    const subscriber = lazy();
    const redis = await connectRedisStores({ client, subscriber, keyPrefix });
    const cache = createVerifiedKeyCache({ store: redis.stores.keys, hasher });
    // Its outcome is taken at once: it may settle while close() is still running.
    const watching = redis.watch(cache).then(
      () => "watching",
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    await redis.close();
    expect(await watching).toMatch(/watch after close/);
    expect([subscriber.listenerCount("message"), subscriber.status]).toEqual([0, "end"]);
  });

  it("checks its options before connecting", async () => {
    const client = lazy();
    await expect(connectRedisStores({ client, subscriber: client, keyPrefix })).rejects.toThrow(/connection of its own/);
    await expect(connectRedisStores({ client, subscriber: {} as Redis, keyPrefix })).rejects.toThrow(/`subscriber`/);
    await expect(connectRedisStores({ client, subscriber: lazy(), keyPrefix: "a{b}" })).rejects.toThrow(/`keyPrefix`/);
    expect(client.status).toBe("wait");
  });
});

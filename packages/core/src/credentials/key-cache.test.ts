import { describe, expect, it } from "vitest";
import { createKeyHasher } from "../keys";
import { FakeClock, mintApiKey, TEST_PEPPER } from "../testing";
import { createVerifiedKeyCache } from "./key-cache";
import { MemoryKeyStore, type ApiKeyRecord, type KeyStore } from "./key-store";

const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });

function counting(store: KeyStore): KeyStore & { lookups: number } {
  const c = {
    lookups: 0,
    findByDigest: async (d: string) => {
      c.lookups++;
      return store.findByDigest(d);
    },
    put: (r: ApiKeyRecord) => store.put(r),
    get: (t: string, id: string) => store.get(t, id),
    list: (t: string) => store.list(t),
  };
  return c;
}

describe("createVerifiedKeyCache", () => {
  it("serves a verified key from memory until its TTL ends", async () => {
    const clock = new FakeClock();
    const inner = new MemoryKeyStore();
    const store = counting(inner);
    const { key, record } = await mintApiKey(inner, hasher);
    const cache = createVerifiedKeyCache({ store, hasher, clock, ttlMs: 1000 });
    expect(await cache.lookup(key)).toEqual(record);
    expect(await cache.lookup(key)).toEqual(record);
    expect(store.lookups).toBe(1);
    clock.advance(1001);
    await cache.lookup(key);
    expect(store.lookups).toBe(2);
  });

  it("remembers unknown keys for the negative TTL", async () => {
    const clock = new FakeClock();
    const store = counting(new MemoryKeyStore());
    const cache = createVerifiedKeyCache({ store, hasher, clock, negativeTtlMs: 500 });
    const unknown = "ak_test_000000000000000000000000000000001LKkZA";
    expect(await cache.lookup(unknown)).toBeNull();
    expect(await cache.lookup(unknown)).toBeNull();
    expect(store.lookups).toBe(1);
    clock.advance(501);
    await cache.lookup(unknown);
    expect(store.lookups).toBe(2);
  });

  it("runs one store lookup for concurrent misses of the same key", async () => {
    const inner = new MemoryKeyStore();
    const store = counting(inner);
    const { key } = await mintApiKey(inner, hasher);
    const cache = createVerifiedKeyCache({ store, hasher });
    const all = await Promise.all(Array.from({ length: 50 }, () => cache.lookup(key)));
    expect(new Set(all.map((r) => r?.id)).size).toBe(1);
    expect(store.lookups).toBe(1);
  });

  it("stays within maxEntries, dropping the oldest", async () => {
    const inner = new MemoryKeyStore();
    const store = counting(inner);
    const keys = await Promise.all(Array.from({ length: 5 }, () => mintApiKey(inner, hasher)));
    const cache = createVerifiedKeyCache({ store, hasher, maxEntries: 3 });
    for (const k of keys) await cache.lookup(k.key);
    expect(cache.size).toBe(3);
    await cache.lookup(keys[4]!.key);
    expect(store.lookups).toBe(5);
    await cache.lookup(keys[0]!.key);
    expect(store.lookups).toBe(6);
  });

  it("sees a revocation at once when invalidated, and ignores a load that raced the invalidation", async () => {
    const inner = new MemoryKeyStore();
    const { key, record } = await mintApiKey(inner, hasher);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let slow = false;
    const store: KeyStore = {
      findByDigest: async (d) => {
        const found = await inner.findByDigest(d);
        if (slow) await gate;
        return found;
      },
      put: (r) => inner.put(r),
      get: (t, id) => inner.get(t, id),
      list: (t) => inner.list(t),
    };
    const cache = createVerifiedKeyCache({ store, hasher, ttlMs: 60_000 });
    expect((await cache.lookup(key))?.revoked_at).toBeNull();
    await inner.put({ ...record, revoked_at: "2026-01-01T00:00:00.000Z" });
    cache.invalidate(record.digest);
    expect((await cache.lookup(key))?.revoked_at).toBe("2026-01-01T00:00:00.000Z");

    // A load that read the old record before an invalidation must not be cached.
    cache.clear();
    await inner.put(record);
    slow = true;
    const racing = cache.lookup(key);
    await new Promise((r) => setTimeout(r, 5));
    await inner.put({ ...record, name: "after" });
    cache.invalidate(record.digest);
    release();
    expect((await racing)?.name).toBe(record.name);
    slow = false;
    expect((await cache.lookup(key))?.name).toBe("after");
  });

  it("finds a key digested under an older pepper", async () => {
    const old = createKeyHasher({ peppers: [{ id: "old", secret: "o".repeat(32) }] });
    const rotated = createKeyHasher({ peppers: [{ id: "new", secret: "n".repeat(32) }, { id: "old", secret: "o".repeat(32) }] });
    const store = new MemoryKeyStore();
    const { key, record } = await mintApiKey(store, old);
    expect(await createVerifiedKeyCache({ store, hasher: rotated }).lookup(key)).toEqual(record);
  });

  it("validates its options", () => {
    expect(() => createVerifiedKeyCache({ store: {} as KeyStore, hasher })).toThrow(/`store`/);
    expect(() => createVerifiedKeyCache({ store: new MemoryKeyStore(), hasher, ttlMs: -1 })).toThrow(/`ttlMs`/);
  });
});

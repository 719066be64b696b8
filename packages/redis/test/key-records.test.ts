import { randomUUID } from "node:crypto";
import { createKeyHasher, createKeyManager, isPolicyError, type ApiKeyRecord, type KeyStore } from "@alloovium/core";
import { mintPrincipal, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { RedisKeyStore } from "../src/key-store";
import { KeyLayout } from "../src/keys";
import { deleteKeys } from "./redis-server";
import { testClient, testPrefix } from "./helpers";

// Records the scripts cannot decode: cjson refuses a lone surrogate escape ("\ud800") that
// JSON.stringify writes. A script is not rolled back when it fails, so each one decodes first.
const client = testClient();
const keyPrefix = testPrefix("key-records");
const store = new RedisKeyStore({ client, keyPrefix, commandTimeoutMs: 5000 });
const layout = new KeyLayout(keyPrefix);

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

function record(tenant: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: randomUUID(),
    name: "CI",
    prefix: "ak_live_AB7K",
    digest: `p1:${randomUUID()}`,
    user_id: randomUUID(),
    tenant_id: tenant,
    email: null,
    environment: "live",
    rate_limit_tier: "standard",
    scopes: ["vault:read"],
    created_at: "2026-04-02T10:12:34.000Z",
    expires_at: null,
    revoked_at: null,
    ...overrides,
  };
}

async function indexSizes(tenant: string): Promise<{ records: number; order: number }> {
  return { records: await client.hlen(layout.keyRecords(tenant)), order: await client.zcard(layout.keyOrder(tenant)) };
}

describe("RedisKeyStore and records it cannot decode", () => {
  it("refuses a record or a patch with a lone surrogate and writes nothing of it", async () => {
    const tenant = randomUUID();
    const good = record(tenant);
    expect(await store.insert(good)).toBe("inserted");
    await expect(store.insert(record(tenant, { name: "x\ud800" }))).rejects.toThrow(TypeError);
    await expect(store.put(record(tenant, { email: "\udc00@x" }))).rejects.toThrow(TypeError);
    await expect(store.patch(tenant, good.id, { name: "y\ud800" })).rejects.toThrow(TypeError);
    expect(await indexSizes(tenant)).toEqual({ records: 1, order: 1 });
    expect(await store.list(tenant)).toEqual([good]);
    // A well-formed pair (an emoji) is stored as it is.
    const emoji = record(tenant, { name: "CI \ud83d\ude80" });
    expect(await store.insert(emoji)).toBe("inserted");
    expect((await store.get(tenant, emoji.id))?.name).toBe("CI \ud83d\ude80");
  });

  it("never writes before decoding: a script given such JSON fails with nothing stored", async () => {
    const tenant = randomUUID();
    const good = record(tenant);
    await store.insert(good);
    const bad = record(tenant, { name: "x\ud800" });
    // The script itself, past the store's own check (as an older client would call it).
    const { INSERT_KEY_SCRIPT, PUT_KEY_SCRIPT } = await import("../src/key-store");
    const keys = [layout.keyRecords(tenant), layout.keyOrder(tenant), layout.keysActive(tenant)];
    for (const s of [INSERT_KEY_SCRIPT, PUT_KEY_SCRIPT]) {
      await expect(client.eval(s.lua, keys.length, ...keys, bad.id, JSON.stringify(bad), "", "0")).rejects.toThrow(/not JSON this script can read/);
    }
    expect(await client.hexists(layout.keyRecords(tenant), bad.id)).toBe(0);
    expect(await indexSizes(tenant)).toEqual({ records: 1, order: 1 });
  });

  it("converges when the hash holds one: list and insert skip it, once, and the tenant keeps working", async () => {
    const tenant = randomUUID();
    const a = record(tenant, { created_at: "2026-04-01T00:00:00.000Z" });
    await store.insert(a);
    const poisoned = record(tenant, { name: "x\ud800" });
    // As the old insert script left it: in the hash, in no index.
    await client.hset(layout.keyRecords(tenant), poisoned.id, JSON.stringify(poisoned));
    const b = record(tenant, { created_at: "2026-04-03T00:00:00.000Z" });
    expect(await store.insert(b, { activeLimit: { max: 10, nowMs: Date.parse("2026-05-01T00:00:00.000Z") } })).toBe("inserted");
    expect((await store.list(tenant)).map((r) => r.id)).toEqual([b.id, a.id]);
    expect((await store.list(tenant, { limit: 1 })).map((r) => r.id)).toEqual([b.id]);
    expect((await store.list(tenant, { limit: 5, after: { created_at: b.created_at, id: b.id } })).map((r) => r.id)).toEqual([a.id]);
    // The indexes hold one member per record: no script rebuilds them again.
    expect(await indexSizes(tenant)).toEqual({ records: 3, order: 3 });
    const members = await client.zrange(layout.keyOrder(tenant), "0", "-1");
    await store.list(tenant);
    expect(await client.zrange(layout.keyOrder(tenant), "0", "-1")).toEqual(members);
    // Absent for every lookup, as for list; a patch of it answers "no such key" (never a
    // script error); put replaces it for good.
    await client.set(layout.digestIndex(poisoned.digest), JSON.stringify([tenant, poisoned.id]));
    expect(await store.get(tenant, poisoned.id)).toBeNull();
    expect(await store.findByDigest(poisoned.digest)).toBeNull();
    expect(await store.patch(tenant, poisoned.id, { revokedAt: "2026-05-01T00:00:00.000Z" })).toBeNull();
    const fixed = { ...poisoned, name: "x" };
    await store.put(fixed);
    expect((await store.list(tenant)).map((r) => r.id)).toEqual([b.id, fixed.id, a.id]);
    expect(await indexSizes(tenant)).toEqual({ records: 3, order: 3 });
  });
});

describe("a roll on Redis racing a change of the key (injected between its read and its step)", () => {
  const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
  /** The Redis store, running `step` once right after the next insert (the roll's new key). */
  function racing(step: { run: (() => Promise<unknown>) | null }): KeyStore {
    return {
      findByDigest: (d) => store.findByDigest(d),
      put: (r) => store.put(r),
      get: (t, id) => store.get(t, id),
      list: (t, o) => store.list(t, o),
      patch: (t, id, p) => store.patch(t, id, p),
      removeUnused: (t, id, d) => store.removeUnused(t, id, d),
      insert: async (r, o) => {
        const outcome = await store.insert(r, o);
        const run = step.run;
        step.run = null;
        if (run) await run();
        return outcome;
      },
    };
  }

  it("gives the successor the cut scopes and the new name, and leaves no key of the lost attempt", async () => {
    const tenant = randomUUID();
    const step: { run: (() => Promise<unknown>) | null } = { run: null };
    const keys = createKeyManager({ keyStore: racing(step), keyHasher: hasher });
    const admin = mintPrincipal({ tenant_id: tenant, environment: "live", scopes: ["keys:write", "vault:read", "vault:write"] });
    const old = await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read", "vault:write"] });
    if (isPolicyError(old)) throw new Error(old.code);
    step.run = () => keys.update(admin, old.id, { name: "A (read only)", scopes: ["vault:read"] });
    const rolled = await keys.roll(admin, old.id, { grace_period_seconds: 3600 });
    if (isPolicyError(rolled)) throw new Error(rolled.code);
    expect(rolled).toMatchObject({ name: "A (read only)", scopes: ["vault:read"] });
    expect((await store.get(tenant, old.id))?.successor_id).toBe(rolled.id);
    expect((await store.list(tenant)).map((r) => r.id).sort()).toEqual([old.id, rolled.id].sort());
  });
});

import { randomUUID } from "node:crypto";
import type { ApiKeyRecord } from "@alloovium/core";
import { afterAll, describe, expect, it } from "vitest";
import { deleteKeys } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { RedisKeyStore } from "./key-store";
import { KeyLayout } from "./keys";

const client = testClient();
const keyPrefix = testPrefix("key-store");
const layout = new KeyLayout(keyPrefix);

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

function legacy(tenant: string, i: number, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: randomUUID(),
    name: `k${i}`,
    prefix: "ak_live_AB7K",
    digest: `p1:${randomUUID()}`,
    user_id: "u1",
    tenant_id: tenant,
    email: null,
    environment: "live",
    rate_limit_tier: "standard",
    scopes: [],
    created_at: `2026-04-0${1 + i}T10:00:00+02:00`,
    expires_at: null,
    revoked_at: null,
    ...overrides,
  };
}

describe("RedisKeyStore on records written before its indexes existed", () => {
  it("builds the order and active indexes from the records: pages, the cap and patches work at once", async () => {
    const tenant = randomUUID();
    const store = new RedisKeyStore({ client, keyPrefix, commandTimeoutMs: 5000 });
    // What an earlier version wrote: the hash, the digest and id indexes, no sorted sets.
    const records = [legacy(tenant, 0), legacy(tenant, 1, { revoked_at: "2026-04-05T00:00:00.000Z" }), legacy(tenant, 2, { expires_at: "2026-04-06T00:00:00.000Z" }), legacy(tenant, 3)];
    for (const r of records) {
      await client.hset(layout.keyRecords(tenant), r.id, JSON.stringify(r));
      await client.set(layout.digestIndex(r.digest), JSON.stringify([tenant, r.id]));
      await client.set(layout.idIndex(r.id), tenant);
    }
    expect((await store.list(tenant, { limit: 2 })).map((r) => r.name)).toEqual(["k3", "k2"]);
    expect(await client.zcard(layout.keyOrder(tenant))).toBe(4);
    const after = { created_at: records[2]!.created_at, id: records[2]!.id };
    expect((await store.list(tenant, { limit: 10, after })).map((r) => r.name)).toEqual(["k1", "k0"]);
    // Active on 2026-06-01: k0 and k3 (k1 revoked, k2 expired).
    const nowMs = Date.parse("2026-06-01T00:00:00Z");
    expect(await store.insert(legacy(tenant, 4, { created_at: "2026-04-09T00:00:00.000Z" }), { activeLimit: { max: 3, nowMs } })).toBe("inserted");
    expect(await store.insert(legacy(tenant, 5, { created_at: "2026-04-09T00:00:00.000Z" }), { activeLimit: { max: 3, nowMs } })).toBe("limit_reached");
    const revoked = await store.patch(tenant, records[0]!.id, { revokedAt: "2026-05-01T00:00:00.000Z", scopes: [] });
    expect(revoked?.applied).toBe(true);
    expect(revoked?.record).toEqual({ ...records[0], revoked_at: "2026-05-01T00:00:00.000Z", scopes: [] });
    expect(await store.insert(legacy(tenant, 5, { created_at: "2026-04-09T00:00:00.000Z" }), { activeLimit: { max: 3, nowMs } })).toBe("inserted");
    expect(await store.list(tenant)).toHaveLength(6);
  });

  it("stores an empty scope list as a JSON list, never an object", async () => {
    const tenant = randomUUID();
    const store = new RedisKeyStore({ client, keyPrefix, commandTimeoutMs: 5000 });
    const r = legacy(tenant, 0, { scopes: ["vault:read"] });
    await store.insert(r);
    await store.patch(tenant, r.id, { scopes: [] });
    expect(await client.hget(layout.keyRecords(tenant), r.id)).toContain('"scopes":[]');
  });

  it("refuses a stored time the scripts could not read, naming the field", async () => {
    const store = new RedisKeyStore({ client, keyPrefix, commandTimeoutMs: 5000 });
    await expect(store.insert(legacy(randomUUID(), 0, { expires_at: "Tue, 01 Jan 2030 00:00:00 GMT" }))).rejects.toThrow(/expires_at/);
    await expect(store.patch(randomUUID(), "x", { expiresBy: "2030" })).rejects.toThrow(/expiresBy/);
  });
});

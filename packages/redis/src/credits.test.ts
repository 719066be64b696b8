import { randomUUID } from "node:crypto";
import { type ApiKeyRecord } from "@alloovium/core";
import { HOUR_MS, USAGE_RETENTION_MS, hourStart } from "@alloovium/core/store-kit";
import { afterAll, describe, expect, it } from "vitest";
import { deleteKeys } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { RedisCreditStore, RedisKeyStore } from "./index";
import { KeyLayout } from "./keys";

const client = testClient();
const keyPrefix = testPrefix("credits");
const commandTimeoutMs = 5000;
const layout = new KeyLayout(keyPrefix);

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

describe("RedisCreditStore on the server", () => {
  const store = (usageRetentionMs?: number) =>
    new RedisCreditStore({ client, keyPrefix, commandTimeoutMs, ...(usageRetentionMs === undefined ? {} : { usageRetentionMs }) });

  it("keeps the balance as an integer string and an hour's usage as a hash expiring a retention after the hour", async () => {
    const tenantId = randomUUID();
    const r = await store().charge({ tenantId, capability: "vault.projects.create", credits: 2, grant: 100_000 });
    expect(await client.get(layout.credits(tenantId))).toBe("99998");
    const key = layout.usage(tenantId, r.hour);
    expect(await client.hgetall(key)).toEqual({ "c:vault.projects.create": "1", "k:vault.projects.create": "2" });
    expect(await client.call("PEXPIRETIME", key)).toBe(r.hour + HOUR_MS + USAGE_RETENTION_MS);
    const short = await store(HOUR_MS).charge({ tenantId, capability: "meta.whoami", credits: 0, grant: 100_000 });
    expect(await client.hgetall(layout.usage(tenantId, short.hour))).toMatchObject({ "c:meta.whoami": "1" });
    expect(await client.hexists(layout.usage(tenantId, short.hour), "k:meta.whoami")).toBe(0);
  });

  it("leaves a tenant charged only at price 0 on the grant (no balance key), so it follows the grant", async () => {
    const tenantId = randomUUID();
    expect(await store().charge({ tenantId, capability: "meta.whoami", credits: 0, grant: 7 })).toMatchObject({ allowed: true, balance: 7, charged: 0 });
    expect(await client.exists(layout.credits(tenantId))).toBe(0);
    expect(await store().balance(tenantId, 9)).toBe(9);
  });

  it("refunds usage credits never below 0, and leaves an hour with no usage alone", async () => {
    const tenantId = randomUUID();
    const r = await store().charge({ tenantId, capability: "a.b", credits: 3, grant: 10 });
    expect(await store().refund({ tenantId, capability: "a.b", credits: 5, hour: r.hour, grant: 10 })).toBe(12);
    expect(await store().usage(tenantId, r.hour)).toEqual([{ hour: r.hour, capability: "a.b", calls: 1, credits: 0 }]);
    const gone = r.hour - 30 * 24 * HOUR_MS;
    expect(await store().refund({ tenantId, capability: "a.b", credits: 1, hour: gone, grant: 10 })).toBe(13);
    expect(await client.exists(layout.usage(tenantId, gone))).toBe(0);
    await expect(store().refund({ tenantId, capability: "a.b", credits: 1, hour: -1, grant: 10 })).rejects.toThrow(/`hour`/);
  });

  it("reads usage only from hours within the retention, on the server's clock", async () => {
    const tenantId = randomUUID();
    const [sec] = await client.time();
    const now = Number(sec) * 1000;
    const threeHoursAgo = hourStart(now) - 3 * HOUR_MS;
    await client.hset(layout.usage(tenantId, threeHoursAgo), "c:a.b", "4", "k:a.b", "8");
    await client.hset(layout.usage(tenantId, hourStart(now) + 2 * HOUR_MS), "c:a.b", "1"); // a future hour: never answered
    expect(await store().usage(tenantId, 0)).toEqual([{ hour: threeHoursAgo, capability: "a.b", calls: 4, credits: 8 }]);
    expect(await store(HOUR_MS).usage(tenantId, 0)).toEqual([]);
    expect(await store().usage(tenantId, threeHoursAgo + HOUR_MS)).toEqual([]);
    await expect(store().usage(tenantId, Number.NaN)).rejects.toThrow(TypeError);
  });
});

describe("RedisKeyStore.touch", () => {
  const keys = () => new RedisKeyStore({ client, keyPrefix, commandTimeoutMs });
  function record(tenantId: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
    return {
      id: randomUUID(), name: "k", prefix: "ak_test_AB7K", digest: `p1:${randomUUID()}`, user_id: randomUUID(), tenant_id: tenantId,
      email: null, environment: "test", rate_limit_tier: "standard", scopes: [], created_at: "2026-04-02T10:12:34.000Z",
      expires_at: null, revoked_at: null, ...overrides,
    };
  }

  it("writes the used-times hash only, never the record, and merges it into get, list and findByDigest", async () => {
    const tenantId = randomUUID();
    const r = record(tenantId);
    await keys().put(r);
    const stored = await client.hget(layout.keyRecords(tenantId), r.id);
    await keys().touch(tenantId, r.id, "2026-05-01T10:00:00Z");
    expect(await client.hget(layout.keyRecords(tenantId), r.id)).toBe(stored);
    expect(await client.hgetall(layout.keysUsed(tenantId))).toEqual({ [r.id]: "2026-05-01T10:00:00.000Z" });
    expect((await keys().findByDigest(r.digest))?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
    expect((await keys().list(tenantId))[0]?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
  });

  it("compares times, not strings, across a day boundary", async () => {
    const tenantId = randomUUID();
    const r = record(tenantId);
    await keys().put(r);
    await keys().touch(tenantId, r.id, "2026-05-01T23:59:59.999Z");
    await keys().touch(tenantId, r.id, "2026-05-02T00:00:00.000Z");
    expect((await keys().get(tenantId, r.id))?.last_used_at).toBe("2026-05-02T00:00:00.000Z");
    await keys().touch(tenantId, r.id, "2026-04-30T23:59:59.999Z");
    expect((await keys().get(tenantId, r.id))?.last_used_at).toBe("2026-05-02T00:00:00.000Z");
  });

  it("answers the later of the record's own last_used_at and the touched one", async () => {
    const tenantId = randomUUID();
    const r = record(tenantId, { last_used_at: "2026-06-01T00:00:00.000Z" });
    await keys().put(r);
    await keys().touch(tenantId, r.id, "2026-05-01T00:00:00.000Z");
    expect((await keys().get(tenantId, r.id))?.last_used_at).toBe("2026-06-01T00:00:00.000Z");
    await keys().touch(tenantId, r.id, "2026-07-01T00:00:00.000Z");
    expect((await keys().get(tenantId, r.id))?.last_used_at).toBe("2026-07-01T00:00:00.000Z");
  });

  it("writes nothing for an unknown id, and rejects a time that is not one", async () => {
    const tenantId = randomUUID();
    await keys().touch(tenantId, randomUUID(), "2026-05-01T00:00:00.000Z");
    expect(await client.exists(layout.keysUsed(tenantId))).toBe(0);
    await expect(keys().touch(tenantId, randomUUID(), "yesterday")).rejects.toThrow(TypeError);
  });
});

import { randomUUID } from "node:crypto";
import { createKeyHasher, createKeyManager, isPolicyError } from "@alloovium/core";
import { mintPrincipal, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedisStores } from "../src/index";
import { testClient, testPrefix } from "./helpers";
import { Worker } from "./workers";

// Four real processes, each with its own client and stores, on one Redis.
const url = inject("redisUrl");
const keyPrefix = testPrefix("multi");
const client = testClient();
let workers: Worker[] = [];

beforeAll(async () => {
  workers = Array.from({ length: 4 }, () => new Worker(url, keyPrefix));
  await Promise.all(workers.map((w) => w.ready));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  client.disconnect();
});

describe("several processes on one Redis", () => {
  it("admit exactly the capacity plus the refill of one shared bucket, never more", async () => {
    // 0.0001 tokens/s: under 0.01 tokens refill during the test, so exactly the capacity.
    const job = { type: "consume" as const, tenantId: randomUUID(), id: "key:shared", n: 60, capacity: 50, refillPerSecond: 0.0001 };
    const allowed = await Promise.all(workers.map((w) => w.run<number>(job)));
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(50);
    // A second burst finds it empty.
    const again = await Promise.all(workers.map((w) => w.run<number>({ ...job, n: 10 })));
    expect(again.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("admit exactly a tenant-wide bucket's capacity when 4 processes race with 4 keys of the tenant, each key within its own", async () => {
    const tenantId = randomUUID();
    const job = { type: "tenant" as const, tenantId, n: 30, capacity: 20, tenantCapacity: 50 };
    const allowed = await Promise.all(workers.map((w, i) => w.run<number>({ ...job, id: `key:${i}` })));
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(50);
    for (const n of allowed) expect(n).toBeLessThanOrEqual(20);
    // Another tenant's keys are not limited by it.
    const other = await Promise.all(workers.map((w, i) => w.run<number>({ ...job, tenantId: randomUUID(), id: `key:${i}`, n: 5 })));
    expect(other).toEqual([5, 5, 5, 5]);
  });

  it("give one claim to 50 concurrent identical requests over 4 processes: the handler runs once", async () => {
    const tenantId = randomUUID();
    const counterKey = `${keyPrefix}:{${tenantId}}:handler-runs`;
    const job = { tenantId, scope: "user-1:live", key: `order-${randomUUID()}`, counterKey, type: "claim" as const };
    const outcomes = (await Promise.all(workers.map((w, i) => w.run<string[]>({ ...job, n: i < 2 ? 13 : 12 })))).flat();
    expect(outcomes).toHaveLength(50);
    expect(outcomes.filter((o) => o === "claimed")).toHaveLength(1);
    expect(outcomes.every((o) => o === "claimed" || o === "in_flight" || o === "completed:run 1")).toBe(true);
    expect(await client.get(counterKey)).toBe("1");
    // Retries after completion replay the one response, in every process.
    const replays = (await Promise.all(workers.map((w) => w.run<string[]>({ ...job, n: 5 })))).flat();
    expect(replays).toEqual(Array.from({ length: 20 }, () => "completed:run 1"));
    expect(await client.get(counterKey)).toBe("1");
  });

  it("admit exactly floor(grant / price) charges racing for one tenant's last credits, never below zero", async () => {
    const tenantId = randomUUID();
    const scope = "user-1:live";
    const grant = 100;
    const price = 7;
    type Answer = { key: string | null; claim: string | null; outcome: string | null; balance: number | null };
    const answers = (await Promise.all(workers.map((w) => w.run<Answer[]>({ type: "charge", tenantId, scope, n: 30, price, grant })))).flat();
    expect(answers).toHaveLength(120);
    const charged = answers.filter((a) => a.outcome === "charged");
    expect(charged).toHaveLength(Math.floor(grant / price));
    // Each charge saw its own balance: 93, 86, ..., 2; every refusal saw the last 2.
    expect(charged.map((a) => a.balance).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 14 }, (_, i) => 2 + 7 * i));
    const refused = answers.filter((a) => a.outcome !== "charged");
    expect(refused.every((a) => a.outcome === "insufficient" && a.balance === 2 && a.claim === null)).toBe(true);
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 10_000 });
    expect(await stores.credits.balance(tenantId, grant)).toBe(2);
    expect((await stores.credits.usage(tenantId, 0)).map((r) => [r.calls, r.credits])).toEqual([[14, 98]]);
    // A charged request keeps its claim; a refused one released it.
    for (const a of answers.filter((x) => x.key !== null)) {
      const record = await stores.idempotency.read({ tenantId, scope, key: a.key! });
      expect(record?.state ?? null).toBe(a.outcome === "charged" ? "in_flight" : null);
    }
    expect(charged.some((a) => a.key !== null)).toBe(true);
    expect(refused.some((a) => a.key !== null)).toBe(true);
  });
});

describe("key management from several processes on one Redis", () => {
  const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 10_000 });
  const keys = createKeyManager({ keyStore: stores.keys, keyHasher: createKeyHasher({ peppers: [TEST_PEPPER] }) });

  async function seedKey(tenantId: string): Promise<string> {
    const admin = mintPrincipal({ tenant_id: tenantId, environment: "live", scopes: ["keys:write", "vault:read"] });
    const created = await keys.create(admin, { name: "shared", environment: "live", scopes: ["vault:read"] });
    if (isPolicyError(created)) throw new Error(created.code);
    return created.id;
  }

  it("give a key one successor when 4 processes race 48 rolls of it: one 201, every other 409 key_already_rolled", async () => {
    const tenantId = randomUUID();
    const keyId = await seedKey(tenantId);
    const job = { type: "keys" as const, op: "roll" as const, tenantId, keyId, n: 12, maxActiveKeys: 100 };
    const answers = (await Promise.all(workers.map((w) => w.run<string[]>(job)))).flat();
    expect(answers).toHaveLength(48);
    const won = answers.filter((a) => a.startsWith("201:"));
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a === "key_already_rolled")).toHaveLength(47);
    const old = await stores.keys.get(tenantId, keyId);
    expect(old?.successor_id).toBe(won[0]!.slice(4));
    // Every losing roll's new key (never delivered) was removed: the tenant holds the old key (in grace) and one successor.
    const listed = await stores.keys.list(tenantId);
    expect(listed.map((r) => r.id).sort()).toEqual([keyId, won[0]!.slice(4)].sort());
    expect(listed.every((r) => r.revoked_at === null)).toBe(true);
  });

  it("give a roll's successor the scopes the key held when the roll took effect, when a scope cut from another process races 3 rolls", async () => {
    const writer = mintPrincipal({ environment: "live", scopes: ["keys:write", "vault:read", "vault:write"] });
    for (let trial = 0; trial < 12; trial++) {
      const tenantId = randomUUID();
      const created = await keys.create({ ...writer, tenant_id: tenantId }, { name: "shared", environment: "live", scopes: ["vault:read", "vault:write"] });
      if (isPolicyError(created)) throw new Error(created.code);
      const job = { type: "keys" as const, tenantId, keyId: created.id, n: 1, maxActiveKeys: 100 };
      const answers = (await Promise.all(workers.map((w, i) => w.run<string[]>({ ...job, op: i === trial % 4 ? ("cut" as const) : ("roll" as const) })))).map((a) => a[0]!);
      const cut = answers[trial % 4]!;
      const rolls = answers.filter((_, i) => i !== trial % 4);
      expect(cut, String(rolls)).toMatch(/^200:(before|after)$/);
      const won = rolls.filter((a) => a.startsWith("201:"));
      expect(won, String(rolls)).toHaveLength(1);
      for (const a of rolls) if (!a.startsWith("201:")) expect(a).toBe("key_already_rolled");
      const successor = await stores.keys.get(tenantId, won[0]!.slice(4));
      // A cut answered while the key had no end came before the roll: the successor holds it.
      expect(successor?.scopes, `trial ${trial}: cut ${cut}`).toEqual(cut === "200:before" ? ["vault:read"] : ["vault:read", "vault:write"]);
      expect((await stores.keys.list(tenantId)).map((r) => r.id).sort()).toEqual([created.id, won[0]!.slice(4)].sort());
    }
  });

  it("apply 100 renames of one key racing from 4 processes, every one without error", async () => {
    const tenantId = randomUUID();
    const keyId = await seedKey(tenantId);
    const job = { type: "keys" as const, op: "rename" as const, tenantId, keyId, n: 25, maxActiveKeys: 100 };
    const answers = (await Promise.all(workers.map((w) => w.run<string[]>(job)))).flat();
    expect(answers).toEqual(Array.from({ length: 100 }, () => "200"));
    expect((await stores.keys.get(tenantId, keyId))?.name).toMatch(/^\d+-\d+$/);
  });

  it("never exceed maxActiveKeys when 4 processes race 80 creates for one tenant", async () => {
    const tenantId = randomUUID();
    await seedKey(tenantId); // one active key already
    const job = { type: "keys" as const, op: "create" as const, tenantId, keyId: "", n: 20, maxActiveKeys: 25 };
    const answers = (await Promise.all(workers.map((w) => w.run<string[]>(job)))).flat();
    expect(answers.filter((a) => a.startsWith("201:"))).toHaveLength(24);
    expect(answers.filter((a) => a === "key_limit_reached")).toHaveLength(56);
    const listed = await stores.keys.list(tenantId);
    expect(listed).toHaveLength(25);
    // Refused creates left nothing behind that a digest could find.
    expect(listed.every((r) => r.revoked_at === null)).toBe(true);
  });
});

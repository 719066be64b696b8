import { randomUUID } from "node:crypto";
import {
  createKeyHasher,
  createPolicy,
  createVerifiedKeyCache,
  defineCapability,
  MemoryBucketStore,
  MemoryCreditStore,
  MemoryIdempotencyStore,
  readUsage,
  type Admission,
  type IdempotencyStore,
} from "@alloovium/core";
import {
  composeAdmission,
  type AdmissionRequest,
  type AdmissionResult,
  type UsageRow,
} from "@alloovium/core/store-kit";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { deleteKeys } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { createRedisStores, RedisAdmission, RedisCreditStore } from "./index";
import { KeyLayout } from "./keys";

const client = testClient();
const keyPrefix = testPrefix("admission");
const commandTimeoutMs = 5000;
const SLOW = 0.0001;
const layout = new KeyLayout(keyPrefix);

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

const stores = () => createRedisStores({ client, keyPrefix, commandTimeoutMs, buckets: { failure: "closed" } });

function request(
  tenantId: string,
  o: { cost?: number; key?: string; fingerprint?: string; price?: number; grant?: number; capability?: string; bucket?: string; tenant?: number } = {},
): AdmissionRequest {
  const r: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = {
    bucket: { tenantId, id: o.bucket ?? "key:a" },
    cost: o.cost ?? 1,
    limits: { capacity: 10, refillPerSecond: SLOW },
  };
  if (o.tenant !== undefined) r.tenant = { ref: { tenantId, id: "tenant" }, limits: { capacity: o.tenant, refillPerSecond: SLOW } };
  if (o.key !== undefined) r.claim = { ref: { tenantId, scope: "u:live", key: o.key }, fingerprint: o.fingerprint ?? "f", leaseMs: 60_000 };
  if (o.price !== undefined) r.charge = { capability: o.capability ?? "vault.projects.create", credits: o.price, grant: o.grant ?? 5 };
  return r;
}

describe("RedisAdmission with a charge", () => {
  it("charges with the bucket decision and the claim, and counts the call in the hour's usage", async () => {
    const s = stores();
    const tenantId = randomUUID();
    const a = await s.admission.admit(request(tenantId, { key: "k", price: 2, grant: 5 }));
    expect(a.bucket).toMatchObject({ allowed: true, remaining: 9 });
    expect(a.claim?.outcome).toBe("claimed");
    expect(a.credits).toMatchObject({ outcome: "charged", balance: 3, credits: 2 });
    if (a.credits?.outcome !== "charged") throw new Error("expected a charge");
    expect(await client.get(layout.credits(tenantId))).toBe("3");
    expect(await client.hgetall(layout.usage(tenantId, a.credits.hour))).toEqual({ "c:vault.projects.create": "1", "k:vault.projects.create": "2" });
    expect(await s.credits.usage(tenantId, a.credits.hour)).toEqual([{ hour: a.credits.hour, capability: "vault.projects.create", calls: 1, credits: 2 }]);
  });

  it("answers insufficient with the balance and deletes the claim it just made (the key is free for a retry)", async () => {
    const s = stores();
    const tenantId = randomUUID();
    const a = await s.admission.admit(request(tenantId, { key: "k", price: 6, grant: 5 }));
    expect(a).toEqual({ bucket: expect.objectContaining({ allowed: true, remaining: 9 }), credits: { outcome: "insufficient", balance: 5 } });
    expect(await s.idempotency.read({ tenantId, scope: "u:live", key: "k" })).toBeNull();
    expect(await client.exists(layout.credits(tenantId))).toBe(0);
    expect(await s.credits.usage(tenantId, 0)).toEqual([]);
    // The retry, at a price the balance holds, claims the same key.
    const retry = await s.admission.admit(request(tenantId, { key: "k", price: 5, grant: 5 }));
    expect(retry.claim?.outcome).toBe("claimed");
    expect(retry.credits).toMatchObject({ outcome: "charged", balance: 0, credits: 5 });
  });

  it("counts a replay at 0 credits, and answers it even on an empty balance", async () => {
    const s = stores();
    const tenantId = randomUUID();
    const ref = { tenantId, scope: "u:live", key: "k" };
    const first = await s.admission.admit(request(tenantId, { key: "k", price: 5, grant: 5 }));
    if (first.claim?.outcome !== "claimed") throw new Error("expected a claim");
    expect(first.credits).toMatchObject({ outcome: "charged", balance: 0 });
    const response = { status: 201, headers: {}, body: "made" };
    expect(await s.idempotency.complete(ref, first.claim.token, response, { ttlMs: 60_000 })).toBe(true);
    const replay = await s.admission.admit(request(tenantId, { key: "k", price: 5, grant: 5 }));
    expect(replay.claim).toEqual({ outcome: "completed", response });
    expect(replay.credits).toMatchObject({ outcome: "charged", balance: 0, credits: 0 });
    expect(await client.get(layout.credits(tenantId))).toBe("0");
    expect(await s.credits.usage(tenantId, 0)).toEqual([expect.objectContaining({ capability: "vault.projects.create", calls: 2, credits: 5 })]);
  });

  it("does not charge an in-flight or mismatched claim: it answers the balance", async () => {
    const s = stores();
    const tenantId = randomUUID();
    await s.admission.admit(request(tenantId, { key: "k", price: 2, grant: 5 }));
    const inFlight = await s.admission.admit(request(tenantId, { key: "k", price: 2, grant: 5 }));
    expect(inFlight.claim).toEqual({ outcome: "in_flight" });
    expect(inFlight.credits).toEqual({ outcome: "balance", balance: 3 });
    const mismatch = await s.admission.admit(request(tenantId, { key: "k", fingerprint: "other", price: 2, grant: 5 }));
    expect(mismatch.claim).toEqual({ outcome: "mismatch" });
    expect(mismatch.credits).toEqual({ outcome: "balance", balance: 3 });
    expect(await client.get(layout.credits(tenantId))).toBe("3");
    expect(await s.credits.usage(tenantId, 0)).toEqual([expect.objectContaining({ calls: 1, credits: 2 })]);
  });

  it("neither claims nor charges when the bucket refuses, but answers the balance", async () => {
    const s = stores();
    const tenantId = randomUUID();
    const a = await s.admission.admit(request(tenantId, { cost: 11, key: "k", price: 2, grant: 5 }));
    expect(a).toEqual({ bucket: expect.objectContaining({ allowed: false }), credits: { outcome: "balance", balance: 5 } });
    expect(await s.idempotency.read({ tenantId, scope: "u:live", key: "k" })).toBeNull();
    expect(await client.exists(layout.credits(tenantId))).toBe(0);
  });

  it("charges without a claim, and ignores a charge when built without a credit store", async () => {
    const s = stores();
    const tenantId = randomUUID();
    const a = await s.admission.admit(request(tenantId, { price: 1, grant: 5 }));
    expect(a).toEqual({ bucket: expect.objectContaining({ allowed: true }), credits: expect.objectContaining({ outcome: "charged", balance: 4, credits: 1 }) });
    const unmetered = new RedisAdmission(s.buckets, s.idempotency);
    expect(unmetered.credits).toBeUndefined();
    expect(await unmetered.admit(request(tenantId, { price: 1, grant: 5 }))).toEqual({ bucket: expect.objectContaining({ allowed: true }) });
    expect(await s.credits.balance(tenantId, 5)).toBe(4);
  });

  it("rejects a bad price before touching Redis", async () => {
    const s = stores();
    const tenantId = randomUUID();
    await expect(s.admission.admit(request(tenantId, { price: -1 }))).rejects.toThrow(TypeError);
    await expect(s.admission.admit(request(tenantId, { price: 1.5 }))).rejects.toThrow(/charge\.credits/);
    await expect(s.admission.admit(request(tenantId, { price: 1, capability: "" }))).rejects.toThrow(/charge\.capability/);
    expect(await client.exists(layout.bucket(tenantId, "key:a"))).toBe(0);
  });

  it("takes the credit store only on the same client and prefix", () => {
    const s = stores();
    expect(() => new RedisAdmission(s.buckets, s.idempotency, new RedisCreditStore({ client, keyPrefix: `${keyPrefix}-other` }))).toThrow(/`credits` must share/);
    expect(() => new RedisAdmission(s.buckets, s.idempotency, {} as RedisCreditStore)).toThrow(/`credits` must be a RedisCreditStore/);
    expect(s.admission.credits).toBe(s.credits);
  });
});

// Every branch of the reference (core's composeAdmission over memory stores) against the one
// script: the same requests must get the same answers and leave the same usage.
describe("RedisAdmission agrees with composeAdmission", () => {
  type Step = { kind: "admit"; o: Parameters<typeof request>[1] } | { kind: "complete"; key: string };
  const steps: Step[] = [
    { kind: "admit", o: { price: 2 } }, // charged, no claim: 3 left
    { kind: "admit", o: { key: "k1", price: 2 } }, // claimed and charged: 1 left
    { kind: "admit", o: { key: "k1", price: 2 } }, // in flight: balance only
    { kind: "admit", o: { key: "k1", fingerprint: "g", price: 2 } }, // mismatch: balance only
    { kind: "complete", key: "k1" },
    { kind: "admit", o: { key: "k1", price: 2 } }, // replay: counted at 0
    { kind: "admit", o: { key: "k2", price: 2 } }, // insufficient: claim released
    { kind: "admit", o: { key: "k2", price: 1 } }, // the released key claimed again: 0 left
    { kind: "admit", o: { key: "k3", cost: 4, price: 1 } }, // bucket refused: balance only
    { kind: "admit", o: { key: "k1", price: 2 } }, // replay on an empty balance
    { kind: "admit", o: { price: 0, capability: "meta.whoami" } }, // free: charged 0
    { kind: "admit", o: { price: 1 } }, // insufficient, no claim
    { kind: "admit", o: {} }, // not metered
    // A tenant-wide bucket of 6 shared by keys b and c.
    { kind: "admit", o: { bucket: "key:b", cost: 3, tenant: 6 } }, // both: b 7, tenant 3
    { kind: "admit", o: { bucket: "key:c", cost: 4, tenant: 6 } }, // c holds 10 but the tenant 3: refused, nothing taken
    { kind: "admit", o: { bucket: "key:b", cost: 2, tenant: 6, key: "k4", price: 0 } }, // claimed and charged 0: b 5, tenant 1
    { kind: "admit", o: { bucket: "key:b", cost: 2, tenant: 6, key: "k5", price: 0 } }, // tenant refuses: no claim
    { kind: "admit", o: { bucket: "key:c", cost: 1, tenant: 6 } }, // c 9, tenant 0
  ];

  async function run(admission: Admission, idempotency: IdempotencyStore, tenantId: string): Promise<unknown[]> {
    const tokens = new Map<string, string>();
    const out: unknown[] = [];
    for (const step of steps) {
      if (step.kind === "complete") {
        const ok = await idempotency.complete({ tenantId, scope: "u:live", key: step.key }, tokens.get(step.key)!, { status: 201, headers: {}, body: step.key }, { ttlMs: 60_000 });
        out.push({ completed: ok });
        continue;
      }
      const r: AdmissionResult = await admission.admit(request(tenantId, step.o));
      if (r.claim?.outcome === "claimed") tokens.set(step.o!.key!, r.claim.token);
      const credits = r.credits && r.credits.outcome !== "unavailable" ? { ...r.credits, hour: undefined } : r.credits;
      out.push({ allowed: r.bucket.allowed, remaining: r.bucket.remaining, tenant: r.tenant?.remaining, claim: r.claim?.outcome === "claimed" ? "claimed" : r.claim, credits });
    }
    for (const key of ["k1", "k2", "k3", "k4", "k5"]) out.push({ key, record: (await idempotency.read({ tenantId, scope: "u:live", key }))?.state ?? null });
    return out;
  }

  const totals = (rows: UsageRow[]) => rows.map((r) => [r.capability, r.calls, r.credits]);

  it("step by step, including the usage it leaves", async () => {
    const memory = { buckets: new MemoryBucketStore(), idempotency: new MemoryIdempotencyStore(), credits: new MemoryCreditStore() };
    const reference = composeAdmission(memory.buckets, memory.idempotency, memory.credits);
    const s = stores();
    const [a, b] = [randomUUID(), randomUUID()];
    const expected = await run(reference, memory.idempotency, a);
    const actual = await run(s.admission, s.idempotency, b);
    expect(actual).toEqual(expected);
    expect(expected).toContainEqual(expect.objectContaining({ claim: { outcome: "completed", response: { status: 201, headers: {}, body: "k1" } } }));
    expect(expected).toContainEqual(expect.objectContaining({ allowed: false, remaining: 10, tenant: 3 })); // refused by the tenant bucket alone
    expect(totals(await s.credits.usage(b, 0))).toEqual(totals(await memory.credits.usage(a, 0)));
    expect(await s.credits.balance(b, 5)).toBe(await memory.credits.balance(a, 5));
  });
});

describe("createPolicy with `admission: stores.admission`", () => {
  const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: true, credits: 2 });

  async function setup(grant: number) {
    const s = stores();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const keyCache = createVerifiedKeyCache({ store: s.keys, hasher: keyHasher, ttlMs: 60_000 });
    const policy = createPolicy({
      environment: "test", keyHasher, keyCache, creditGrant: grant, stores: s,
    });
    const tenantId = randomUUID();
    const { key, record } = await mintApiKey(s.keys, keyHasher, { tenantId });
    return { s, policy, tenantId, key, record };
  }

  it("meters through Redis: charges before the handler, keeps it below 500, refunds a 5xx, refuses with 402", async () => {
    const { s, policy, tenantId, key, record } = await setup(5);
    expect(policy.credits).toBe(s.credits);
    const call = (idempotencyKey?: string) =>
      policy.decide(policyRequest({ method: "POST", path: create.path, key, body: "{}", ...(idempotencyKey ? { idempotencyKey } : {}) }), create);

    const ok = await call("order-1");
    if (ok.kind !== "continue") throw new Error(`expected continue, got ${ok.kind}`);
    expect(ok.headers.ratelimit).toContain('"credits";r=3');
    expect(ok.headers["ratelimit-policy"]).toContain('"credits";q=5');
    await ok.commit({ status: 201, headers: {}, body: "made" });

    const replay = await call("order-1");
    expect(replay.kind).toBe("replay");
    if (replay.kind === "replay") expect(replay.response.headers.ratelimit).toContain('"credits";r=3');

    const failed = await call();
    if (failed.kind !== "continue") throw new Error("expected continue");
    expect(failed.headers.ratelimit).toContain('"credits";r=1');
    await failed.commit({ status: 503, headers: {}, body: "" });
    expect(await s.credits.balance(tenantId, 5)).toBe(3);

    expect((await call()).kind).toBe("continue"); // 2 more (never settled: kept): 1 left
    const short = await call("order-2");
    expect(short.kind).toBe("reject");
    if (short.kind === "reject") {
      expect(short.response.status).toBe(402);
      expect(short.problem).toMatchObject({ code: "insufficient_credits", balance: 1, required: 2 });
      expect(short.response.headers.ratelimit).toContain('"credits";r=1');
    }
    expect(await s.idempotency.read({ tenantId, scope: `${record.user_id}:test`, key: "order-2" })).toBeNull();
    expect((await s.idempotency.read({ tenantId, scope: `${record.user_id}:test`, key: "order-1" }))?.state).toBe("completed");

    const report = await readUsage(s.credits, tenantId, { grant: 5 });
    expect(report.balance).toBe(1);
    expect(report.data.map((d) => [d.capability, d.calls, d.credits])).toEqual([["vault.projects.create", 4, 4]]);
  });

  it("keeps last_used_at in Redis through touch, without rewriting the record", async () => {
    const { s, policy, tenantId, key, record } = await setup(100);
    const d = await policy.decide(policyRequest({ method: "POST", path: create.path, key, body: "{}" }), create);
    expect(d.kind).toBe("continue");
    const touched = await waitForValue(async () => (await s.keys.get(tenantId, record.id))?.last_used_at ?? undefined);
    expect(Date.parse(touched)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.parse((await client.hget(layout.keyRecords(tenantId), record.id))!)).not.toHaveProperty("last_used_at");
  });
});

async function waitForValue<T>(read: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await read();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("timed out");
}

describe("RedisCreditStore options", () => {
  it.each([
    [{ failure: "ajar" }, /`failure`/],
    [{ usageRetentionMs: 0 }, /`usageRetentionMs`/],
    [{ usageRetentionMs: 1.5 }, /`usageRetentionMs`/],
    [{ usageRetentionMs: 400 * 86_400_000 }, /`usageRetentionMs`/],
  ])("rejects %o naming the option", (bad, message) => {
    expect(() => new RedisCreditStore({ client, ...(bad as object) })).toThrow(message);
  });

  it("is built by createRedisStores with its options", () => {
    expect(() => createRedisStores({ client, credits: { failure: "x" as "open" } })).toThrow(/`credits.failure`/);
    expect(() => createRedisStores({ client, credits: { usageRetentionMs: -1 } })).toThrow(/`credits.usageRetentionMs`/);
    expect(() => createRedisStores({ client, credits: "on" as unknown as object })).toThrow(/`credits` must be an object/);
  });
});

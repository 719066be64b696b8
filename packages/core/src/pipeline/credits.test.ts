import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { MemoryCreditStore, readUsage, type CreditStore } from "../credits";
import { MemoryKeyStore, type KeyStore } from "../credentials";
import { MemoryIdempotencyStore, type IdempotencyStore } from "../idempotency";
import { createKeyHasher } from "../keys";
import { FakeClock, createTestPolicy, mintApiKey, policyRequest, TEST_PEPPER } from "../testing";
import { composeAdmission } from "./admission";
import { createPolicy, omitMembers, type ContinueDecision, type Decision, type RejectDecision } from "./index";
import { MemoryBucketStore } from "../buckets";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });
const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: [], cost: 1, credits: 1, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: [], cost: 2, credits: 2, idempotent: true });
const mintKeyCap = defineCapability({ id: "keys.create", method: "POST", path: "/api/v2/keys", scopes: [], cost: 2, credits: 0, idempotent: true, omitFromReplay: ["key"] });

function rejected(d: Decision): RejectDecision {
  if (d.kind !== "reject") throw new Error(`expected a rejection, got ${d.kind}`);
  return d;
}
function continued(d: Decision): ContinueDecision {
  if (d.kind !== "continue") throw new Error(`expected continue, got ${d.kind}${d.kind === "reject" ? ` (${d.problem.code})` : ""}`);
  return d;
}
const balanceIn = (headers: Readonly<Record<string, string>>) => Number(/"credits";r=(\d+)/.exec(headers["ratelimit"] ?? "")?.[1]);

async function setup(grant = 100_000) {
  const t = createTestPolicy({ creditGrant: grant, tiers: { standard: { capacity: 10_000, refillPerSecond: 100 } } });
  const { key, record } = await t.mintKey();
  return { t, key, tenant: record.tenant_id, credits: t.credits! };
}

describe("createPolicy: credits", () => {
  it("charges the price before the handler and shows the balance as the credits policy", async () => {
    const { t, key, tenant, credits } = await setup();
    const d = continued(await t.call(list, { key }));
    expect(d.headers["ratelimit-policy"]).toBe('"tokens";q=10000;w=100, "credits";q=100000');
    expect(d.headers["ratelimit"]).toMatch(/^"tokens";r=\d+;t=\d+, "credits";r=99999$/);
    expect(await credits.balance(tenant, 100_000)).toBe(99_999);
    await d.commit({ status: 200, headers: {}, body: "{}" });
    expect(await credits.balance(tenant, 100_000)).toBe(99_999);
    // A price of 0 is not charged, and still shows the balance.
    expect(balanceIn(continued(await t.call(whoami, { key })).headers)).toBe(99_999);
  });

  it("answers 402 insufficient_credits with balance and required, no Retry-After, and runs nothing", async () => {
    const { t, key, tenant, credits } = await setup(3);
    continued(await t.call(create, { key, body: {} }));
    const d = rejected(await t.call(create, { key, body: {} }));
    expect(d.response.status).toBe(402);
    expect(d.problem).toMatchObject({ code: "insufficient_credits", balance: 1, required: 2 });
    expect(d.response.headers["retry-after"]).toBeUndefined();
    expect(balanceIn(d.response.headers)).toBe(1);
    expect(await credits.balance(tenant, 3)).toBe(1);
    // A cheaper call still fits; a free one always does.
    continued(await t.call(list, { key }));
    continued(await t.call(whoami, { key }));
    expect(await credits.balance(tenant, 3)).toBe(0);
  });

  it("refunds on a 5xx and on a throw, exactly once and never more than the reservation", async () => {
    const { t, key, tenant, credits } = await setup(10);
    const a = continued(await t.call(create, { key, body: {} }));
    expect(a.owes).toBe("status");
    await a.commit({ status: 503, headers: {}, body: "" });
    await a.commit({ status: 503, headers: {}, body: "" });
    await a.abort(new Error("boom"));
    expect(await credits.balance(tenant, 10)).toBe(10);
    const b = continued(await t.call(create, { key, body: {} }));
    await b.abort(new Error("boom"));
    await b.abort(new Error("boom"));
    expect(await credits.balance(tenant, 10)).toBe(10);
    const c = continued(await t.call(create, { key, body: {} }));
    await c.commit({ status: 201, headers: {}, body: "{}" });
    await c.abort(new Error("boom")); // after a commit: nothing
    expect(await credits.balance(tenant, 10)).toBe(8);
    expect(await t.policy.usage(tenant)).toEqual(await readUsage(credits, tenant, { clock: t.clock, grant: 10 }));
    const usage = await readUsage(credits, tenant, { clock: t.clock, grant: 10 });
    expect(usage.data).toEqual([{ hour: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:00:00\+00:00$/), capability: "vault.projects.create", calls: 3, credits: 2 }]);
    expect(usage.balance).toBe(8);
  });

  it("never charges a replay again, and answers it even on an empty balance", async () => {
    const { t, key, tenant, credits } = await setup(2);
    const first = continued(await t.call(create, { key, idempotencyKey: "k-1", body: { a: 1 } }));
    expect(first.owes).toBe("response");
    await first.commit({ status: 201, headers: { "content-type": "application/json" }, body: '{"id":"p1"}' });
    expect(await credits.balance(tenant, 2)).toBe(0);
    const again = await t.call(create, { key, idempotencyKey: "k-1", body: { a: 1 } });
    expect(again.kind).toBe("replay");
    if (again.kind === "replay") expect(balanceIn(again.response.headers)).toBe(0);
    expect(await credits.balance(tenant, 2)).toBe(0);
    // A new operation is refused, and its claim released: with credits it runs under the same key.
    expect(rejected(await t.call(create, { key, idempotencyKey: "k-2", body: { a: 2 } })).problem.code).toBe("insufficient_credits");
    await credits.add(tenant, 5, 2);
    continued(await t.call(create, { key, idempotencyKey: "k-2", body: { a: 2 } }));
    const usage = await readUsage(credits, tenant, { clock: t.clock, grant: 2 });
    expect(usage.data.map((r) => [r.calls, r.credits])).toEqual([[3, 4]]); // first, replay (0), k-2
  });

  it("charges nothing for a request refused after the bucket (bad Idempotency-Key, in flight, reused)", async () => {
    const { t, key, tenant, credits } = await setup(100);
    expect(rejected(await t.call(create, { key, idempotencyKey: "", body: {} })).problem.code).toBe("invalid_idempotency_key");
    const held = continued(await t.call(create, { key, idempotencyKey: "k", body: { a: 1 } }));
    const inFlight = rejected(await t.call(create, { key, idempotencyKey: "k", body: { a: 1 } }));
    expect(inFlight.problem.code).toBe("idempotency_key_in_use");
    expect(balanceIn(inFlight.response.headers)).toBe(98);
    expect(rejected(await t.call(create, { key, idempotencyKey: "k", body: { a: 2 } })).problem.code).toBe("idempotency_key_reused");
    await held.commit({ status: 201, headers: {}, body: "{}" });
    expect(await credits.balance(tenant, 100)).toBe(98);
  });

  it("charges nothing when the bucket refuses, and still shows the balance", async () => {
    const t = createTestPolicy({ tiers: { free: { capacity: 1, refillPerSecond: 0.001 } } });
    const { key, record } = await t.mintKey({ tier: "free" });
    continued(await t.call(list, { key }));
    const d = rejected(await t.call(list, { key }));
    expect(d.problem.code).toBe("rate_limited");
    expect(balanceIn(d.response.headers)).toBe(99_999);
    expect(await t.credits!.balance(record.tenant_id, 100_000)).toBe(99_999);
  });

  it("shows the balance on refusals before the bucket (scope, environment)", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ scopes: [] });
    const scoped = defineCapability({ id: "vault.projects.delete", method: "DELETE", path: "/x", scopes: ["vault:write"], cost: 1, credits: 5, idempotent: true });
    const d = rejected(await t.call(scoped, { key }));
    expect(d.problem.code).toBe("insufficient_scope");
    expect(d.response.headers["ratelimit-policy"]).toContain('"credits";q=100000');
    expect(balanceIn(d.response.headers)).toBe(100_000);
  });

  it("refunds when the idempotency store is unavailable and the policy fails closed", async () => {
    const clock = new FakeClock();
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const broken: IdempotencyStore = { ...new MemoryIdempotencyStore(), claim: async () => Promise.reject(new Error("down")), complete: async () => false, release: async () => false, read: async () => null };
    const credits = new MemoryCreditStore({ clock });
    const policy = createPolicy({ environment: "live", stores: { keys: keyStore, idempotency: broken, credits: credits }, keyHasher, clock });
    const { key, record } = await mintApiKey(keyStore, keyHasher, {}, clock);
    const d = rejected(await policy.decide(policyRequest({ method: "POST", path: create.path, key, idempotencyKey: "k", body: {} }), create));
    expect(d.problem.code).toBe("idempotency_unavailable");
    expect(await credits.balance(record.tenant_id, 100_000)).toBe(100_000);
  });

  it("never drives the balance below zero when many requests race for the last credits", async () => {
    const { t, key, tenant, credits } = await setup(25);
    const decisions = await Promise.all(Array.from({ length: 40 }, () => t.call(create, { key, body: {} })));
    expect(decisions.filter((d) => d.kind === "continue")).toHaveLength(12);
    expect(decisions.filter((d) => d.kind === "reject" && d.problem.code === "insufficient_credits")).toHaveLength(28);
    expect(await credits.balance(tenant, 25)).toBe(1);
  });

  it("takes a grant per tenant, and turns metering off with metering: false", async () => {
    const t = createTestPolicy({ creditGrant: (tenantId) => (tenantId === "rich" ? 1_000_000 : 5) });
    const rich = await t.mintKey({ tenantId: "rich" });
    const poor = await t.mintKey({ tenantId: "poor" });
    expect(continued(await t.call(list, { key: rich.key })).headers["ratelimit-policy"]).toContain('"credits";q=1000000');
    expect(balanceIn(continued(await t.call(list, { key: poor.key })).headers)).toBe(4);
    const off = createTestPolicy({ metering: false });
    const k = await off.mintKey();
    const d = continued(await off.call(create, { key: k.key, body: {} }));
    expect(d.headers["ratelimit"]).not.toContain("credits");
    expect(d.owes).toBe("nothing");
    await expect(off.policy.usage("t")).rejects.toThrow(/metering is off/);
    expect(() => createTestPolicy({ creditGrant: -1 })).toThrow(/creditGrant/);
  });

  it("refuses an admission whose credit store is not the policy's, or without the stores it admits in", () => {
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const buckets = new MemoryBucketStore();
    const idempotency = new MemoryIdempotencyStore();
    const admission = composeAdmission(buckets, idempotency, new MemoryCreditStore());
    const beside = { keys: keyStore, buckets, idempotency };
    expect(() => createPolicy({ environment: "live", stores: { ...beside, admission, credits: new MemoryCreditStore() }, keyHasher })).toThrow(/admission\.credits/);
    const plain = composeAdmission(buckets, idempotency);
    expect(() => createPolicy({ environment: "live", stores: { ...beside, admission: plain, credits: new MemoryCreditStore() }, keyHasher })).toThrow(/charges no credit store/);
    expect(createPolicy({ environment: "live", stores: { ...beside, admission }, keyHasher }).credits).toBe(admission.credits);
    expect(createPolicy({ environment: "live", stores: { ...beside, admission }, keyHasher, metering: false }).credits).toBeUndefined();
    // Settling and the refusals' headers must read the stores the admission writes: given beside it, not defaulted.
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore, admission }, keyHasher })).toThrow(/`stores\.buckets` and `stores\.idempotency`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore, buckets, admission }, keyHasher })).toThrow(/`stores\.idempotency`/);
  });

  it("gives every metered charge its own reservation id, through the admission, and the refund names it", async () => {
    const clock = new FakeClock();
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const inner = new MemoryCreditStore({ clock });
    const charges: (string | undefined)[] = [];
    const refunds: (string | undefined)[] = [];
    const recording: CreditStore = {
      charge: (c) => (charges.push(c.reservation), inner.charge(c)),
      refund: (r) => (refunds.push(r.reservation), inner.refund(r)),
      balance: (t, g) => inner.balance(t, g),
      add: (t, c, g) => inner.add(t, c, g),
      usage: (t, s) => inner.usage(t, s),
    };
    const buckets = new MemoryBucketStore({ clock });
    const idempotency = new MemoryIdempotencyStore({ clock });
    const admission = composeAdmission(buckets, idempotency, recording);
    const policy = createPolicy({ environment: "live", stores: { keys: keyStore, buckets, idempotency, credits: recording, admission }, keyHasher, clock });
    const { key } = await mintApiKey(keyStore, keyHasher, {}, clock);
    const a = continued(await policy.decide(policyRequest({ path: list.path, key }), list));
    await a.commit({ status: 200, headers: {}, body: "{}" });
    const b = continued(await policy.decide(policyRequest({ path: list.path, key }), list));
    await b.commit({ status: 500, headers: {}, body: "" });
    expect(charges).toHaveLength(2);
    expect(charges.every((id) => typeof id === "string" && id.length >= 16)).toBe(true);
    expect(new Set(charges).size).toBe(2);
    expect(refunds).toEqual([charges[1]]);
  });

  it("lets a call through uncharged, without the credits member, when the credit store fails", async () => {
    const clock = new FakeClock();
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const failing: CreditStore = { charge: () => Promise.reject(new Error("down")), refund: () => Promise.reject(new Error("down")), balance: () => Promise.reject(new Error("down")), add: () => Promise.reject(new Error("down")), usage: () => Promise.reject(new Error("down")) };
    const errors: string[] = [];
    const policy = createPolicy({ environment: "live", stores: { keys: keyStore, credits: failing }, keyHasher, clock, onStoreError: (_e, op) => errors.push(op) });
    const { key } = await mintApiKey(keyStore, keyHasher, {}, clock);
    const d = continued(await policy.decide(policyRequest({ path: list.path, key }), list));
    expect(d.headers["ratelimit"]).not.toContain("credits");
    expect(errors).toContain("charge");
  });
});

describe("createPolicy: the raw key is never stored for replay", () => {
  it("stores the response without the members of omitFromReplay and replays it without them", async () => {
    const t = createTestPolicy();
    const { key, record } = await t.mintKey();
    const d = continued(await t.call(mintKeyCap, { key, idempotencyKey: "mint-1", body: { name: "CI" } }));
    const raw = "ak_test_SECRETSECRETSECRETSECRETSECRETSEC12345";
    await d.commit({ status: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "k1", name: "CI", key: raw }) });
    const stored = await t.idempotency.read({ tenantId: record.tenant_id, scope: `${record.user_id}:test`, key: "mint-1" });
    expect(JSON.stringify(stored)).not.toContain(raw);
    const again = await t.call(mintKeyCap, { key, idempotencyKey: "mint-1", body: { name: "CI" } });
    if (again.kind !== "replay") throw new Error("expected a replay");
    expect(JSON.parse(again.response.body)).toEqual({ id: "k1", name: "CI" });
  });

  it("omitMembers keeps nothing of a body it cannot read as a JSON object", () => {
    expect(omitMembers('{"a":1,"key":"x"}', ["key"])).toBe('{"a":1}');
    expect(omitMembers("not json ak_live_x", ["key"])).toBe("{}");
    expect(omitMembers('["ak_live_x"]', ["key"])).toBe("{}");
  });
});

describe("createPolicy: last_used_at", () => {
  it("touches a key at most once a minute per process, without waiting for the store", async () => {
    const clock = new FakeClock();
    const inner = new MemoryKeyStore();
    const touches: string[] = [];
    const keyStore: KeyStore = {
      findByDigest: (d) => inner.findByDigest(d),
      put: (r) => inner.put(r),
      get: (a, b) => inner.get(a, b),
      list: (a) => inner.list(a),
      touch: (tenantId, id, at) => {
        touches.push(at);
        return new Promise(() => {}); // never answers: the request must not wait for it
      },
    };
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const policy = createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, clock });
    const { key } = await mintApiKey(inner, keyHasher, {}, clock);
    const call = () => policy.decide(policyRequest({ path: whoami.path, key }), whoami);
    continued(await call());
    continued(await call());
    clock.advance(59_999);
    continued(await call());
    expect(touches).toHaveLength(1);
    clock.advance(1);
    continued(await call());
    expect(touches).toEqual([new Date(clock.now() - 60_000).toISOString(), new Date(clock.now()).toISOString()]);
  });

  it("shows last_used_at through the memory store, and keeps none when the interval is 0", async () => {
    const t = createTestPolicy();
    const { key, record } = await t.mintKey();
    continued(await t.call(whoami, { key }));
    await new Promise((r) => setImmediate(r));
    expect((await t.keyStore.get(record.tenant_id, record.id))?.last_used_at).toBe(new Date(t.clock.now()).toISOString());
    const off = createTestPolicy({ lastUsedIntervalMs: 0 });
    const k = await off.mintKey();
    continued(await off.call(whoami, { key: k.key }));
    await new Promise((r) => setImmediate(r));
    expect((await off.keyStore.get(k.record.tenant_id, k.record.id))?.last_used_at ?? null).toBeNull();
  });
});

describe("policy.usage during a credit store outage", () => {
  it("throws a 503 service_unavailable problem with Retry-After, not an error that becomes 500", async () => {
    const store = new MemoryCreditStore();
    let down = true;
    const failing: CreditStore = {
      charge: (c) => store.charge(c),
      refund: (r) => store.refund(r),
      add: (t, c, g) => store.add(t, c, g),
      balance: (t, g) => (down ? Promise.reject(new Error("ECONNREFUSED")) : store.balance(t, g)),
      usage: (t, s) => (down ? Promise.reject(new Error("ECONNREFUSED")) : store.usage(t, s)),
    };
    const operations: string[] = [];
    const policy = createPolicy({ environment: "live", stores: { keys: new MemoryKeyStore(), credits: failing }, keyHasher: createKeyHasher({ peppers: [TEST_PEPPER] }), onStoreError: (_e, op) => operations.push(op) });
    const error = await policy.usage("t1").then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ name: "ProblemError", code: "service_unavailable", headers: { "retry-after": "1" } });
    expect(operations).toEqual(["usage"]);
    down = false;
    expect((await policy.usage("t1")).balance).toBe(100_000);
    await expect(policy.usage("t1", { hours: -1 })).rejects.toThrow(TypeError);
  });
});

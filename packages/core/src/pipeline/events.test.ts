import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { MemoryIdempotencyStore, type IdempotencyStore } from "../idempotency";
import { ProblemError } from "../problems";
import { MemoryKeyStore } from "../credentials";
import { createTestPolicy, mintApiKey, mintPrincipal, policyRequest } from "../testing";
import { createPolicy } from "./pipeline";
import type { ContinueDecision, Decision } from "./decision";
import type { DecisionEvent, SettleEvent } from "./events";

const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: ["vault:read"], cost: 2, credits: 3, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: [], cost: 1, credits: 2, idempotent: true });

/** Events are told after the answer, in a later turn: wait for them. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

function continued(d: Decision): ContinueDecision {
  if (d.kind !== "continue") throw new Error(`expected continue, got ${d.kind}`);
  return d;
}

function listening(options: Parameters<typeof createTestPolicy>[0] = {}) {
  const decisions: DecisionEvent[] = [];
  const settlements: SettleEvent[] = [];
  const t = createTestPolicy({ creditGrant: 100, ...options, onDecision: (e) => decisions.push(e), onSettle: (e) => settlements.push(e) });
  return { t, decisions, settlements };
}

describe("decision events", () => {
  it("tells each decision after the answer: outcome, capability, tenant, the key's prefix, tier, cost, tokens left, credits, duration", async () => {
    const { t, decisions } = listening();
    const { key, record } = await t.mintKey({ scopes: ["vault:read"], tier: "pro" });
    const d = continued(await t.call(list, { key }));
    expect(decisions).toEqual([]); // not in the request's path
    await settle();
    expect(decisions).toHaveLength(1);
    const e = decisions[0]!;
    expect(e).toMatchObject({
      outcome: "admitted",
      status: 200,
      capability: "vault.projects.list",
      tenantId: record.tenant_id,
      credential: { kind: "api_key", prefix: record.prefix, keyId: record.id },
      tier: "pro",
      cost: 2,
      remaining: 2998,
      credits: { charged: 3, balance: 97 },
      failedOpen: [],
    });
    expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(e)).not.toContain(key); // never the raw key
    expect(JSON.stringify(e)).not.toContain(record.digest); // nor its digest
    await d.commit({ status: 200 });
  });

  it("tells a refusal with its code, before and after the credential is known, and a replay", async () => {
    const { t, decisions } = listening();
    const { key } = await t.mintKey({ scopes: [] });
    await t.call(list, {}); // no credential
    await t.call(list, { key }); // a scope missing
    const first = continued(await t.call(create, { key, body: {}, idempotencyKey: "r" }));
    await first.commit({ status: 201, headers: {}, body: "{}" });
    await t.call(create, { key, body: {}, idempotencyKey: "r" });
    await settle();
    expect(decisions.map((e) => [e.outcome, e.code, e.status, e.tenantId !== undefined])).toEqual([
      ["refused", "missing_credentials", 401, false],
      ["refused", "insufficient_scope", 403, true],
      ["admitted", undefined, 200, true],
      ["replayed", undefined, 201, true],
    ]);
    expect(decisions[3]!.credits).toEqual({ charged: 0, balance: 98 }); // a replay is free
  });

  it("names an OAuth caller by its client id", async () => {
    const caller = mintPrincipal({ auth_method: "oauth", client_id: "ci-bot", scopes: ["vault:read"] });
    const { t, decisions } = listening({ oauth: { verify: async () => caller } });
    continued(await t.call(list, { headers: { authorization: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln" } }));
    await settle();
    expect(decisions[0]).toMatchObject({ outcome: "admitted", credential: { kind: "oauth", clientId: "ci-bot" }, tenantId: caller.tenant_id, tier: "standard" });
  });

  it("says which store failed open for the request: credits, idempotency", async () => {
    const { t, decisions } = listening();
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    (t.credits as unknown as { chargeNow: unknown }).chargeNow = () => {
      throw new Error("credits down");
    };
    continued(await t.call(list, { key }));
    const events: DecisionEvent[] = [];
    const keys = new MemoryKeyStore();
    const broken: IdempotencyStore = Object.assign(new MemoryIdempotencyStore(), { claim: () => Promise.reject(new Error("down")) });
    const open = createPolicy({ environment: "live", keyHasher: t.keyHasher, stores: { keys, idempotency: broken }, idempotencyFailure: "open", onDecision: (e) => events.push(e) });
    const minted = await mintApiKey(keys, t.keyHasher, {});
    continued(await open.decide(policyRequest({ method: "POST", path: create.path, key: minted.key, body: {}, idempotencyKey: "k" }), create));
    await settle();
    expect(decisions.at(-1)).toMatchObject({ outcome: "admitted", failedOpen: ["credits"] });
    expect(decisions.at(-1)!.credits).toBeUndefined();
    expect(events.at(-1)).toMatchObject({ outcome: "admitted", failedOpen: ["idempotency"], credits: { charged: 2 } });
  });

  it("a listener that throws or is slow changes nothing and delays nothing", async () => {
    let calls = 0;
    const t = createTestPolicy({
      onDecision: () => {
        calls++;
        throw new Error("listener bug");
      },
      onSettle: () => {
        const until = Date.now() + 50; // a slow listener
        while (Date.now() < until);
      },
    });
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    const d = continued(await t.call(list, { key }));
    expect(calls).toBe(0); // the answer came first
    await d.commit({ status: 200 });
    await settle();
    expect(calls).toBe(1);
    expect(continued(await t.call(list, { key })).kind).toBe("continue");
    expect(() => createTestPolicy({ onDecision: "yes" as never })).toThrow(/`onDecision` must be a function/);
  });
});

describe("settlement events", () => {
  it("tells kept, refunded and released, with the credits given back and whether the response was stored", async () => {
    const { t, settlements } = listening();
    const { key, record } = await t.mintKey({ scopes: ["vault:read"] });
    await continued(await t.call(list, { key })).commit({ status: 200 });
    await continued(await t.call(list, { key })).commit({ status: 503 });
    await continued(await t.call(list, { key })).abort(new ProblemError("not_found", "No such project."));
    await continued(await t.call(create, { key, body: {}, idempotencyKey: "a" })).commit({ status: 201, headers: {}, body: "{}" });
    await continued(await t.call(create, { key, body: {}, idempotencyKey: "b" })).abort(new Error("boom"));
    await continued(await t.call(create, { key, body: {}, idempotencyKey: "c" })).commit({ status: 200 }); // a stream
    await settle();
    expect(settlements.map((e) => [e.outcome, e.status, e.stored, e.refunded])).toEqual([
      ["kept", 200, false, 0],
      ["refunded", 503, false, 3],
      ["kept", 404, false, 0],
      ["kept", 201, true, 0],
      ["released", 500, false, 2],
      ["released", 200, false, 0],
    ]);
    expect(settlements.every((e) => e.tenantId === record.tenant_id)).toBe(true);
    expect(settlements.map((e) => e.capability)).toEqual(["vault.projects.list", "vault.projects.list", "vault.projects.list", "vault.projects.create", "vault.projects.create", "vault.projects.create"]);
  });

  it("tells nothing for a decision with nothing to settle, and one event however often a decision is settled", async () => {
    const { t, settlements } = listening({ metering: false });
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    await continued(await t.call(list, { key })).commit({ status: 200 });
    const d = continued(await t.call(create, { key, body: {}, idempotencyKey: "x" }));
    await d.commit({ status: 201, headers: {}, body: "{}" });
    await d.commit({ status: 500 });
    await d.abort(new Error("late"));
    await settle();
    expect(settlements.map((e) => e.outcome)).toEqual(["kept"]);
  });
});

describe("a failing store and its listeners", () => {
  const brokenIdempotency = (): IdempotencyStore => Object.assign(new MemoryIdempotencyStore(), { claim: () => Promise.reject(new Error("down")) });

  it("an onStoreError that throws changes no answer: fail-open continues, fail-closed is 503, commit and abort settle", async () => {
    for (const idempotencyFailure of ["open", "closed"] as const) {
      const t = createTestPolicy({
        idempotencyFailure,
        onStoreError: () => {
          throw new Error("listener bug");
        },
        create: (o) => createPolicy({ ...o, stores: { ...o.stores, idempotency: brokenIdempotency() } }),
      });
      const { key } = await t.mintKey();
      const d = await t.policy.decide(policyRequest({ method: "POST", path: create.path, key, body: {}, idempotencyKey: "abcdefgh-1" }), create);
      if (idempotencyFailure === "closed") {
        expect(d).toMatchObject({ kind: "reject", response: { status: 503 } });
        continue;
      }
      await continued(d).commit({ status: 201, body: "{}" });
      (t.credits as unknown as { refund: unknown }).refund = () => Promise.reject(new Error("credits down"));
      const again = await t.policy.decide(policyRequest({ method: "POST", path: create.path, key, body: {}, idempotencyKey: "abcdefgh-2" }), create);
      expect((await continued(again).abort(new Error("handler"))).status).toBe(500);
    }
  });

  it("a charge refunded because the idempotency store failed closed is told as a settlement", async () => {
    const settlements: SettleEvent[] = [];
    const decisions: DecisionEvent[] = [];
    const t = createTestPolicy({
      creditGrant: 100,
      onDecision: (e) => decisions.push(e),
      onSettle: (e) => settlements.push(e),
      create: (o) => createPolicy({ ...o, stores: { ...o.stores, idempotency: brokenIdempotency() } }),
    });
    const { key, record } = await t.mintKey();
    const d = await t.policy.decide(policyRequest({ method: "POST", path: create.path, key, body: {}, idempotencyKey: "abcdefgh-1" }), create);
    expect(d).toMatchObject({ kind: "reject", response: { status: 503 } });
    await settle();
    const charged = decisions.reduce((n, e) => n + (e.credits?.charged ?? 0), 0);
    const refunded = settlements.reduce((n, e) => n + e.refunded, 0);
    expect(charged).toBe(create.credits);
    expect(settlements).toEqual([expect.objectContaining({ outcome: "refunded", capability: create.id, status: 503, stored: false, refunded: create.credits })]);
    expect(charged - refunded).toBe(100 - (await t.policy.usage(record.tenant_id)).balance); // what the metrics say was kept is what the balance lost
  });
});

describe("who a decision answered", () => {
  it("names the principal of a refusal after authentication and of a replay, never of a refusal before it", async () => {
    const t = createTestPolicy();
    const { key, record } = await t.mintKey({ scopes: [] });
    const before = await t.call(list, {});
    expect(before.kind === "reject" && before.principal).toBe(undefined);
    const scope = await t.call(list, { key });
    expect(scope.kind === "reject" && scope.principal?.tenant_id).toBe(record.tenant_id);
    const first = continued(await t.call(create, { key, idempotencyKey: "who-1" }));
    await first.commit({ status: 201, headers: {}, body: "{}" });
    const replay = await t.call(create, { key, idempotencyKey: "who-1" });
    expect(replay.kind).toBe("replay");
    expect(replay.kind === "replay" && replay.principal?.auth_method === "api_key" && replay.principal.api_key_prefix).toBe(record.prefix);
  });
});

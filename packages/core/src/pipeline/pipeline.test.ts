import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { MemoryBucketStore, type BucketStore } from "../buckets";
import { MemoryKeyStore, createOAuthVerifier, type KeyStore } from "../credentials";
import { MemoryIdempotencyStore, type IdempotencyStore } from "../idempotency";
import { createKeyHasher } from "../keys";
import { createTestPolicy, mintApiKey, policyRequest, TEST_PEPPER, type TestPolicy } from "../testing";
import { composeAdmission } from "./admission";
import { createPolicy, type Decision, type RejectDecision } from "./index";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });
const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: ["vault:read"], cost: 1, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: ["vault:write"], cost: 2, idempotent: true });
const strict = defineCapability({ id: "vault.projects.import", method: "POST", path: "/api/v2/vault/imports", scopes: [], cost: 1, idempotent: true, requireIdempotencyKey: true });
const huge = defineCapability({ id: "vault.projects.export", method: "POST", path: "/api/v2/vault/exports", scopes: [], cost: 61, idempotent: false });

const BODY = { name: "Downtown Tower", project_type: "commercial" };

function rejected(d: Decision): RejectDecision {
  if (d.kind !== "reject") throw new Error(`expected a rejection, got ${d.kind}`);
  return d;
}
function code(d: Decision): string {
  return rejected(d).problem.code;
}
async function remaining(t: TestPolicy, key: string): Promise<number> {
  // A cost-0 read of the same bucket through a scope failure: the RateLimit header of a 403.
  const probe = defineCapability({ id: "probe.read", method: "GET", path: "/probe", scopes: ["probe:read"], cost: 1, idempotent: true });
  const d = rejected(await t.call(probe, { key }));
  return Number(/r=(\d+)/.exec(d.response.headers.ratelimit ?? "")?.[1]);
}

describe("createPolicy: authentication, in the contract's order", () => {
  it("refuses a key in the body with no Authorization header as a misplaced credential, not a missing one", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey();
    expect(code(await t.call(create, { body: { api_key: key } }))).toBe("credential_location_not_allowed");
    expect(code(await t.call(whoami, {}))).toBe("missing_credentials");
  });

  it("refuses a key in the query even beside a valid Authorization header, and never echoes it", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey();
    const d = rejected(await t.call(whoami, { key, query: `api_key=${key}` }));
    expect(d.response.status).toBe(400);
    expect(d.problem).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    expect(d.response.body).not.toContain(key);
    expect(JSON.stringify(d.response.headers)).not.toContain(key);
  });

  it("rejects a malformed key with no store lookup", async () => {
    let lookups = 0;
    const store = new MemoryKeyStore();
    const counting: KeyStore = { ...store, findByDigest: async (d) => (lookups++, store.findByDigest(d)), put: (r) => store.put(r), get: (a, b) => store.get(a, b), list: (a) => store.list(a) };
    const policy = createPolicy({ environment: "live", stores: { keys: counting }, keyHasher: createKeyHasher({ peppers: [TEST_PEPPER] }) });
    const d = rejected(await policy.decide(policyRequest({ path: "/api/v2/me", key: "ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo40" }), whoami));
    expect(d.problem.code).toBe("invalid_api_key");
    expect(d.response.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_token"');
    expect(code(await policy.decide(policyRequest({ key: "ak_prod_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m" }), whoami))).toBe("invalid_api_key");
    expect(lookups).toBe(0);
    expect(code(await policy.decide(policyRequest({ key: "ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m" }), whoami))).toBe("invalid_api_key");
    expect(lookups).toBe(1);
  });

  it("answers revoked and expired keys with their own codes", async () => {
    const t = createTestPolicy();
    const revoked = await t.mintKey({ revokedAt: "2025-12-01T00:00:00Z" });
    expect(code(await t.call(whoami, { key: revoked.key }))).toBe("api_key_revoked");
    const expiring = await t.mintKey({ expiresAt: new Date(t.clock.now() + 60_000).toISOString() });
    expect((await t.call(whoami, { key: expiring.key })).kind).toBe("continue");
    t.clock.advance(60_000);
    expect(code(await t.call(whoami, { key: expiring.key }))).toBe("api_key_expired");
  });

  it("refuses JWTs when OAuth is not configured, and opaque tokens always", async () => {
    const t = createTestPolicy();
    expect(code(await t.call(whoami, { headers: { authorization: "Bearer aaa.bbb.ccc" } }))).toBe("invalid_token");
    expect(code(await t.call(whoami, { headers: { authorization: "Bearer sometoken" } }))).toBe("invalid_token");
  });

  it("gives handlers the principal exactly as GET /api/v2/me shows it", async () => {
    const t = createTestPolicy();
    const { record, key } = await t.mintKey({ scopes: ["vault:write", "chat:read", "vault:read"], tier: "pro", environment: "live", name: "Production Backend" });
    const d = await t.call(whoami, { key });
    if (d.kind !== "continue") throw new Error("expected continue");
    expect(d.principal).toEqual({
      user_id: record.user_id,
      tenant_id: record.tenant_id,
      auth_method: "api_key",
      email: "alex@example.com",
      api_key_id: record.id,
      api_key_name: "Production Backend",
      api_key_prefix: key.slice(0, 12),
      environment: "live",
      rate_limit_tier: "pro",
      scopes: ["chat:read", "vault:read", "vault:write"],
    });
    expect(d.headers).toEqual({ "ratelimit-policy": '"tokens";q=3000;w=60, "credits";q=100000', ratelimit: '"tokens";r=2999;t=1, "credits";r=100000' });
  });
});

describe("createPolicy: environments", () => {
  it("refuses a live key on a test deployment, with RateLimit headers and no tokens taken", async () => {
    const t = createTestPolicy({ environment: "test" });
    const live = await t.mintKey({ environment: "live" });
    const d = rejected(await t.call(whoami, { key: live.key }));
    expect(d.response.status).toBe(403);
    expect(d.problem.code).toBe("environment_mismatch");
    // RFC 6750: `invalid_token` belongs to 401; a 403 that is not about scopes has no `error`.
    expect(d.response.headers["www-authenticate"]).toBe('Bearer realm="alloovium"');
    expect(d.response.headers.ratelimit).toBe('"tokens";r=600;t=0, "credits";r=100000');
    const test = await t.mintKey({ environment: "test" });
    expect((await t.call(whoami, { key: test.key })).kind).toBe("continue");
  });

  it("lets test keys talk to a live deployment", async () => {
    const t = createTestPolicy({ environment: "live" });
    expect((await t.call(whoami, { key: (await t.mintKey({ environment: "test" })).key })).kind).toBe("continue");
    expect((await t.call(whoami, { key: (await t.mintKey({ environment: "live" })).key })).kind).toBe("continue");
  });
});

describe("createPolicy: scopes and buckets", () => {
  it("answers insufficient_scope exactly as the seeds show, taking no tokens", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    const d = rejected(await t.call(create, { key, body: BODY }));
    expect(d.response.status).toBe(403);
    expect(JSON.parse(d.response.body)).toEqual({
      type: "https://api.alloovium.com/errors/insufficient_scope",
      title: "Insufficient scope",
      status: 403,
      detail: "API key is missing required scope: vault:write",
      code: "insufficient_scope",
      missing_scopes: ["vault:write"],
    });
    expect(d.response.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"');
    expect(d.response.headers["content-type"]).toBe("application/problem+json");
    expect(await remaining(t, key)).toBe(600);
  });

  it("a free key calling a cost-1 capability 61 times in one second gets 60 allowed and one rate_limited", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ tier: "free" });
    const decisions: Decision[] = [];
    for (let i = 0; i < 61; i++) decisions.push(await t.call(whoami, { key }));
    expect(decisions.filter((d) => d.kind === "continue")).toHaveLength(60);
    const last = rejected(decisions[60]!);
    expect(last.response.status).toBe(429);
    expect(last.problem).toMatchObject({ code: "rate_limited", cost: 1, remaining: 0, limit: 60 });
    expect(last.response.headers["retry-after"]).toBe("1");
    expect(last.response.headers["ratelimit-policy"]).toBe('"tokens";q=60;w=60, "credits";q=100000');
    // t is the next whole token (1 s at 1/s), not the minute until the bucket is full.
    expect(last.response.headers.ratelimit).toBe('"tokens";r=0;t=1, "credits";r=100000');
    t.clock.advance(1000);
    expect((await t.call(whoami, { key })).kind).toBe("continue");
  });

  it("takes nothing from a request the bucket refuses", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ tier: "free", scopes: ["vault:write"] });
    for (let i = 0; i < 29; i++) await t.call(create, { key, body: { i } }); // 58 tokens
    expect((await t.call(whoami, { key })).kind).toBe("continue"); // 59
    const d = rejected(await t.call(create, { key, body: { i: 99 } }));
    expect(d.problem).toMatchObject({ code: "rate_limited", cost: 2, remaining: 1 });
    expect((await t.call(whoami, { key })).kind).toBe("continue");
    expect(code(await t.call(whoami, { key }))).toBe("rate_limited");
  });

  it("answers cost_exceeds_capacity without Retry-After when the cost can never fit", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ tier: "free" });
    const d = rejected(await t.call(huge, { key }));
    expect(d.response.status).toBe(429);
    expect(d.problem).toMatchObject({ code: "cost_exceeds_capacity", cost: 61, limit: 60 });
    expect(d.response.headers["retry-after"]).toBeUndefined();
    expect(await remaining(t, key)).toBe(60);
  });

  it("takes no tokens from requests stopped before the bucket", async () => {
    const t = createTestPolicy({ environment: "test" });
    const live = await t.mintKey({ environment: "live", tier: "free" });
    for (let i = 0; i < 70; i++) expect(code(await t.call(whoami, { key: live.key }))).toBe("environment_mismatch");
    const d = rejected(await t.call(whoami, { key: live.key }));
    expect(d.response.headers.ratelimit).toBe('"tokens";r=60;t=0, "credits";r=100000');
  });
});

describe("createPolicy: idempotency", () => {
  async function setup() {
    const t = createTestPolicy();
    const minted = await t.mintKey({ scopes: ["vault:write"] });
    return { t, key: minted.key, record: minted.record };
  }
  const created = { status: 201, headers: { "content-type": "application/json", location: "/api/v2/vault/projects/p1", "x-trace": "drop-me" }, body: '{"id":"p1"}' };

  it("replays a completed response with Idempotent-Replayed, fresh RateLimit headers, and tokens taken", async () => {
    const { t, key } = await setup();
    const first = await t.call(create, { key, body: BODY, idempotencyKey: "create-tower-2026-04-08" });
    if (first.kind !== "continue") throw new Error("expected continue");
    expect(first.owes).toBe("response");
    await first.commit(created);
    const again = await t.call(create, { key, body: { project_type: "commercial", name: "Downtown Tower" }, idempotencyKey: '"create-tower-2026-04-08"' });
    if (again.kind !== "replay") throw new Error(`expected replay, got ${again.kind}`);
    expect(again.response).toEqual({
      status: 201,
      headers: {
        "content-type": "application/json",
        location: "/api/v2/vault/projects/p1",
        "idempotent-replayed": "true",
        "ratelimit-policy": '"tokens";q=600;w=60, "credits";q=100000',
        ratelimit: '"tokens";r=596;t=1, "credits";r=100000',
      },
      body: '{"id":"p1"}',
    });
  });

  it("answers 409 while the first request is in flight and 422 for another body", async () => {
    const { t, key } = await setup();
    const first = await t.call(create, { key, body: BODY, idempotencyKey: "k1" });
    expect(first.kind).toBe("continue");
    const inFlight = rejected(await t.call(create, { key, body: BODY, idempotencyKey: "k1" }));
    expect(inFlight.response.status).toBe(409);
    expect(inFlight.problem.code).toBe("idempotency_key_in_use");
    expect(inFlight.response.headers["retry-after"]).toBe("1");
    const reused = rejected(await t.call(create, { key, body: { ...BODY, name: "Other" }, idempotencyKey: "k1" }));
    expect(reused.response.status).toBe(422);
    expect(reused.problem.code).toBe("idempotency_key_reused");
  });

  it("releases the key on a 5xx or a throw so that a retry runs", async () => {
    const { t, key } = await setup();
    const a = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    if (a.kind !== "continue") throw new Error("expected continue");
    await a.commit({ status: 503, headers: {}, body: "" });
    const b = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    if (b.kind !== "continue") throw new Error("expected a fresh run after a 5xx");
    await b.abort(new Error("boom"));
    await b.commit(created); // settled already: ignored
    const c = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    expect(c.kind).toBe("continue");
  });

  it("stores 4xx answers of the handler for replay", async () => {
    const { t, key } = await setup();
    const a = await t.call(create, { key, rawBody: "{", idempotencyKey: "k" } as never);
    if (a.kind !== "continue") throw new Error("expected continue");
    await a.commit({ status: 400, headers: { "content-type": "application/problem+json" }, body: '{"code":"invalid_body"}' });
    const b = await t.call(create, { key, idempotencyKey: "k" });
    expect(b.kind).toBe("replay");
  });

  it("judges the key after the bucket: a malformed key costs tokens and answers 400", async () => {
    const { t, key } = await setup();
    const d = rejected(await t.call(create, { key, body: BODY, idempotencyKey: "bad key" }));
    expect(d.response.status).toBe(400);
    expect(d.problem.code).toBe("invalid_idempotency_key");
    expect(d.response.headers.ratelimit).toBe('"tokens";r=598;t=1, "credits";r=100000');
  });

  it("answers idempotency_key_required when the capability demands a key", async () => {
    const { t, key } = await setup();
    expect(code(await t.call(strict, { key, body: {} }))).toBe("idempotency_key_required");
    expect((await t.call(strict, { key, body: {}, idempotencyKey: "x" })).kind).toBe("continue");
  });

  it("ignores the header on GET", async () => {
    const { t, key } = await setup();
    const d = await t.call(whoami, { key, idempotencyKey: "bad key" });
    expect(d.kind === "continue" && d.owes).toBe("nothing");
  });

  it("scopes keys to tenant, user and environment", async () => {
    const { t, key } = await setup();
    const otherTenant = await t.mintKey({ scopes: ["vault:write"], tenantId: "other-tenant" });
    const testEnv = await t.mintKey({ scopes: ["vault:write"], environment: "test" });
    const liveEnv = await t.mintKey({ scopes: ["vault:write"], environment: "live" });
    const first = await t.call(create, { key, body: BODY, idempotencyKey: "shared" });
    if (first.kind !== "continue") throw new Error("expected continue");
    await first.commit(created);
    expect((await t.call(create, { key: otherTenant.key, body: BODY, idempotencyKey: "shared" })).kind).toBe("continue");
    expect((await t.call(create, { key: testEnv.key, body: BODY, idempotencyKey: "shared" })).kind).toBe("replay"); // same user, same (test) environment
    expect((await t.call(create, { key: liveEnv.key, body: BODY, idempotencyKey: "shared" })).kind).toBe("continue");
  });

  it("fences out a holder whose lease expired", async () => {
    const t = createTestPolicy({ idempotencyLeaseMs: 1000 });
    const { key } = await t.mintKey({ scopes: ["vault:write"] });
    const slow = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    t.clock.advance(1500);
    const fast = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    if (slow.kind !== "continue" || fast.kind !== "continue") throw new Error("expected two runs");
    await fast.commit({ ...created, body: '{"id":"fast"}' });
    await slow.commit({ ...created, body: '{"id":"slow"}' });
    const replay = await t.call(create, { key, body: BODY, idempotencyKey: "k" });
    expect(replay.kind === "replay" && replay.response.body).toBe('{"id":"fast"}');
  });

  it("fails closed with 503 when the store is down, or open when configured", async () => {
    const broken: IdempotencyStore = {
      claim: async () => { throw new Error("down"); },
      complete: async () => { throw new Error("down"); },
      release: async () => { throw new Error("down"); },
      read: async () => { throw new Error("down"); },
    };
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const { mintApiKey } = await import("../testing");
    const { key } = await mintApiKey(keyStore, keyHasher, { scopes: ["vault:write"] });
    const errors: string[] = [];
    const closed = createPolicy({ environment: "live", stores: { keys: keyStore, idempotency: broken }, keyHasher, onStoreError: (_e, op) => errors.push(op) });
    const d = rejected(await closed.decide(policyRequest({ method: "POST", path: create.path, key, body: BODY, idempotencyKey: "k" }), create));
    expect(d.response.status).toBe(503);
    expect(d.problem.code).toBe("idempotency_unavailable");
    expect(errors).toContain("admit");
    const open = createPolicy({ environment: "live", stores: { keys: keyStore, idempotency: broken }, keyHasher, idempotencyFailure: "open" });
    const o = await open.decide(policyRequest({ method: "POST", path: create.path, key, body: BODY, idempotencyKey: "k" }), create);
    expect(o.kind === "continue" && o.owes).toBe("nothing");
  });
});

describe("createPolicy: OAuth", () => {
  it("meters OAuth tokens per client and user on the configured tier", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "e1" };
    const oauth = createOAuthVerifier({ jwks: { keys: [jwk] }, issuer: "https://issuer.test" });
    const t = createTestPolicy({ oauth, oauthTier: { client_free: "free" } });
    const mint = (client: string) =>
      new SignJWT({ tenant_id: "t1", client_id: client, scope: "vault:read" })
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "e1" })
        .setIssuer("https://issuer.test").setAudience("https://api.alloovium.com").setSubject("u1")
        .setIssuedAt().setExpirationTime("5m")
        .sign(privateKey);
    const d = await t.call(list, { headers: { authorization: `Bearer ${await mint("client_free")}` } });
    if (d.kind !== "continue") throw new Error(`expected continue, got ${JSON.stringify(d)}`);
    expect(d.principal).toEqual({ user_id: "u1", tenant_id: "t1", auth_method: "oauth", client_id: "client_free", scopes: ["vault:read"] });
    expect(d.headers["ratelimit-policy"]).toBe('"tokens";q=60;w=60, "credits";q=100000');
    const other = await t.call(list, { headers: { authorization: `Bearer ${await mint("client_std")}` } });
    expect(other.kind === "continue" && other.headers["ratelimit-policy"]).toBe('"tokens";q=600;w=60, "credits";q=100000');
    const scoped = rejected(await t.call(create, { headers: { authorization: `Bearer ${await mint("client_std")}` }, body: BODY }));
    expect(scoped.problem.detail).toBe("OAuth token is missing required scope: vault:write");
  });

  it("keeps client a:b with user c and client a with user b:c in buckets of their own", async () => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "e1" };
    const t = createTestPolicy({ oauth: createOAuthVerifier({ jwks: { keys: [jwk] }, issuer: "https://issuer.test" }) });
    const mint = (client: string, sub: string) =>
      new SignJWT({ tenant_id: "t1", client_id: client, scope: "vault:read" })
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "e1" })
        .setIssuer("https://issuer.test").setAudience("https://api.alloovium.com").setSubject(sub)
        .setIssuedAt().setExpirationTime("5m")
        .sign(privateKey);
    const first = await mint("a:b", "c");
    for (let i = 0; i < 5; i++) await t.call(list, { headers: { authorization: `Bearer ${first}` } });
    const other = await t.call(list, { headers: { authorization: `Bearer ${await mint("a", "b:c")}` } });
    expect(other.kind === "continue" && other.headers["ratelimit"]).toMatch(/^"tokens";r=599;/);
  });
});

describe("createPolicy: options and failures", () => {
  const keyStore = new MemoryKeyStore();
  const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });

  it("validates options when called, naming them", () => {
    expect(() => createPolicy({ environment: "prod" as never, stores: { keys: keyStore }, keyHasher })).toThrow(/`environment`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: {} as never }, keyHasher })).toThrow(/`stores\.keys`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, idempotencyMethods: ["GET"] })).toThrow(/`idempotencyMethods`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, oauthTier: "gold" as never })).toThrow(/`oauthTier`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, idempotencyLeaseMs: 0 })).toThrow(/`idempotencyLeaseMs`/);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, tiers: { free: { capacity: 0, refillPerSecond: 1 } } })).toThrow(/tiers\.free\.capacity/);
  });

  it("uses the configured problem type base", async () => {
    const policy = createPolicy({ environment: "live", stores: { keys: keyStore }, keyHasher, problemTypeBase: "https://errors.example.com/" });
    const d = rejected(await policy.decide(policyRequest({ path: "/api/v2/me" }), whoami));
    expect(d.problem.type).toBe("https://errors.example.com/missing_credentials");
  });

  it("answers a key store outage with 503 service_unavailable and Retry-After, no secrets, and recovers", async () => {
    const store = new MemoryKeyStore();
    let down = true;
    const failing: KeyStore = {
      findByDigest: async (d) => {
        if (down) throw new Error("ECONNREFUSED secret-host:6379");
        return store.findByDigest(d);
      },
      put: (r) => store.put(r),
      get: (a, b) => store.get(a, b),
      list: (a) => store.list(a),
    };
    const errors: string[] = [];
    const policy = createPolicy({ environment: "live", stores: { keys: failing }, keyHasher, onStoreError: (_e, op) => errors.push(op) });
    const { key } = await mintApiKey(store, keyHasher, {});
    const d = rejected(await policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami));
    expect(d.response.status).toBe(503);
    expect(d.problem.code).toBe("service_unavailable");
    expect(d.response.headers["retry-after"]).toBe("1");
    expect(d.response.headers["www-authenticate"]).toBeUndefined();
    expect(d.response.body).not.toMatch(/secret-host|ECONNREFUSED|ak_live/);
    expect(errors).toEqual(["lookup"]);
    down = false; // the same policy, no restart
    expect((await policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami)).kind).toBe("continue");
  });

  it("answers a bucket store that fails closed with 503 service_unavailable and Retry-After, taking nothing", async () => {
    const store = new MemoryKeyStore();
    const buckets = new MemoryBucketStore();
    let down = true;
    const failing: BucketStore = { consume: (r, c, l) => (down ? Promise.reject(new Error("bucket store down")) : buckets.consume(r, c, l)) };
    const errors: string[] = [];
    const policy = createPolicy({ environment: "live", stores: { keys: store, buckets: failing }, keyHasher, metering: false, onStoreError: (_e, op) => errors.push(op) });
    const { key } = await mintApiKey(store, keyHasher, { tier: "free" });
    const d = rejected(await policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami));
    expect([d.response.status, d.problem.code, d.response.headers["retry-after"]]).toEqual([503, "service_unavailable", "1"]);
    expect(d.response.headers.ratelimit).toBeUndefined();
    expect(errors).toEqual(["admit"]);
    down = false;
    const ok = await policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami);
    if (ok.kind !== "continue") throw new Error(`expected continue, got ${ok.kind}`);
    expect(ok.headers.ratelimit).toBe('"tokens";r=59;t=1');
  });

  it("keeps 500 internal_error for a bug: a creditGrant function that throws is not an outage", async () => {
    const store = new MemoryKeyStore();
    const policy = createPolicy({ environment: "live", stores: { keys: store }, keyHasher, creditGrant: () => { throw new Error("bug"); } });
    const { key } = await mintApiKey(store, keyHasher, {});
    const d = rejected(await policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami));
    expect([d.response.status, d.problem.code]).toEqual([500, "internal_error"]);
    expect(d.response.headers["retry-after"]).toBeUndefined();
  });
});

describe("createPolicy: the tenant-wide bucket (section 4)", () => {
  const TENANT = "tenant-a";
  const small = { capacity: 5, refillPerSecond: 0.5 };
  const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });

  it("is shared by all of a tenant's keys, not by another tenant's, and rides in the headers as \"tenant\"", async () => {
    const t = createTestPolicy({ tenantBucket: small });
    const a = await t.mintKey({ tenantId: TENANT, tier: "pro" });
    const b = await t.mintKey({ tenantId: TENANT, tier: "pro" });
    const other = await t.mintKey({ tenantId: "tenant-b", tier: "pro" });
    const first = await t.call(whoami, { key: a.key });
    if (first.kind !== "continue") throw new Error("expected continue");
    expect(first.headers["ratelimit-policy"]).toBe('"tokens";q=3000;w=60, "tenant";q=5;w=10, "credits";q=100000');
    expect(first.headers.ratelimit).toBe('"tokens";r=2999;t=1, "tenant";r=4;t=2, "credits";r=100000');
    for (let i = 0; i < 2; i++) expect((await t.call(whoami, { key: a.key })).kind).toBe("continue");
    for (let i = 0; i < 2; i++) expect((await t.call(whoami, { key: b.key })).kind).toBe("continue");
    const d = rejected(await t.call(whoami, { key: b.key }));
    expect(d.response.status).toBe(429);
    expect(d.problem).toMatchObject({ code: "rate_limited", cost: 1, remaining: 0, limit: 5 });
    expect(d.problem.detail).toMatch(/tenant's shared bucket/);
    expect(d.response.headers["retry-after"]).toBe("2");
    expect(d.response.headers.ratelimit).toBe('"tokens";r=2998;t=1, "tenant";r=0;t=2, "credits";r=100000');
    expect(code(await t.call(whoami, { key: a.key }))).toBe("rate_limited");
    expect((await t.call(whoami, { key: other.key })).kind).toBe("continue");
    t.clock.advance(2000);
    expect((await t.call(whoami, { key: a.key })).kind).toBe("continue");
  });

  it("takes nothing from the key's bucket when the tenant's refuses, and answers the key's own refusal as before", async () => {
    const t = createTestPolicy({ tenantBucket: { capacity: 3, refillPerSecond: 0.001 }, metering: false });
    const a = await t.mintKey({ tenantId: TENANT, tier: "free", scopes: ["vault:write"] });
    expect((await t.call(create, { key: a.key, body: { i: 1 } })).kind).toBe("continue"); // tenant 1 left
    const d = rejected(await t.call(create, { key: a.key, body: { i: 2 } }));
    expect(d.problem).toMatchObject({ code: "rate_limited", cost: 2, remaining: 1, limit: 3 });
    // Retry-After covers the whole cost (1 token at 0.001/s), never earlier than the tenant's t.
    expect(d.response.headers["retry-after"]).toBe("1000");
    expect(d.response.headers.ratelimit).toBe('"tokens";r=58;t=1, "tenant";r=1;t=1000');
    // Another tenant-wide limit per tier: the free key's own bucket refuses first.
    const u = createTestPolicy({ tenantBucket: { pro: { capacity: 1000, refillPerSecond: 1 } }, metering: false });
    const free = await u.mintKey({ tenantId: TENANT, tier: "free" });
    for (let i = 0; i < 60; i++) await u.call(whoami, { key: free.key });
    const own = rejected(await u.call(whoami, { key: free.key }));
    expect(own.problem).toMatchObject({ code: "rate_limited", remaining: 0, limit: 60 });
    expect(own.response.headers["ratelimit-policy"]).toBe('"tokens";q=60;w=60'); // free has no tenant bucket here
    const pro = await u.mintKey({ tenantId: TENANT, tier: "pro" });
    const p = await u.call(whoami, { key: pro.key });
    if (p.kind !== "continue") throw new Error("expected continue");
    expect(p.headers["ratelimit-policy"]).toBe('"tokens";q=3000;w=60, "tenant";q=1000;w=1000');
  });

  it("takes a function of the tenant, refuses a cost the tenant bucket can never hold, and checks the option at createPolicy", async () => {
    const t = createTestPolicy({ tenantBucket: (tenantId) => (tenantId === TENANT ? { capacity: 60, refillPerSecond: 1 } : undefined), metering: false });
    const a = await t.mintKey({ tenantId: TENANT, tier: "pro" });
    const b = await t.mintKey({ tenantId: "tenant-b", tier: "pro" });
    const d = rejected(await t.call(huge, { key: a.key }));
    expect(d.problem).toMatchObject({ code: "cost_exceeds_capacity", cost: 61, limit: 60 });
    expect(d.response.headers["retry-after"]).toBeUndefined();
    expect((await t.call(huge, { key: b.key })).kind).toBe("continue");
    expect(() => createTestPolicy({ tenantBucket: { capacity: 0, refillPerSecond: 1 } })).toThrow(/`tenantBucket`\.capacity/);
    expect(() => createTestPolicy({ tenantBucket: { gold: { capacity: 1, refillPerSecond: 1 } } as never })).toThrow(/`tenantBucket`.*"gold" is not a tier/);
    expect(() => createTestPolicy({ tenantBucket: { pro: { capacity: 1, refillPerSecond: -1 } } })).toThrow(/`tenantBucket\.pro`\.refillPerSecond/);
    expect(() => createTestPolicy({ tenantBucket: 5 as never })).toThrow(/`tenantBucket`/);
    const keyStore = new MemoryKeyStore();
    const single: BucketStore = { consume: (r, c, l) => new MemoryBucketStore().consume(r, c, l) };
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore, buckets: single }, keyHasher, tenantBucket: small })).toThrow(/`tenantBucket` needs `stores\.buckets` with consumeAll/);
    const idempotency = new MemoryIdempotencyStore();
    const admission = composeAdmission(single, idempotency);
    expect(() => createPolicy({ environment: "live", stores: { keys: keyStore, buckets: single, idempotency, admission }, keyHasher, metering: false, tenantBucket: small })).toThrow(/`tenantBucket` needs a `stores\.admission`/);
    // A function's bad answer is a bug in the caller's code: 500, not 429 or 503.
    const bad = createTestPolicy({ tenantBucket: () => ({ capacity: -1, refillPerSecond: 1 }) });
    expect(code(await bad.call(whoami, { key: (await bad.mintKey()).key }))).toBe("internal_error");
  });
});

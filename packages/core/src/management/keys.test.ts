import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { isPolicyError, type PolicyError } from "../problems";
import { createTestPolicy, mintPrincipal } from "../testing";
import { createKeyManager, MAX_GRACE_PERIOD_SECONDS, type CreatedKey, type KeyView } from "./keys";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });

function setup() {
  const t = createTestPolicy();
  const invalidated: string[] = [];
  const keys = createKeyManager({
    keyStore: t.keyStore,
    keyHasher: t.keyHasher,
    clock: t.clock,
    invalidate: (d) => {
      invalidated.push(d);
      t.policy.keyCache.invalidate(d);
    },
  });
  const admin = mintPrincipal({ scopes: ["keys:read", "keys:write", "vault:read", "vault:write"], rate_limit_tier: "pro", environment: "live", api_key_prefix: "ak_live_AB7K" });
  return { t, keys, admin, invalidated };
}
function ok<T>(v: T | PolicyError): T {
  if (isPolicyError(v)) throw new Error(`unexpected ${v.code}: ${v.detail}`);
  return v;
}
function err(v: unknown): PolicyError {
  if (!isPolicyError(v)) throw new Error("expected a problem");
  return v;
}

describe("createKeyManager", () => {
  it("lets a test key create test keys only (403 environment_mismatch for a live one)", async () => {
    const { keys } = setup();
    const sandbox = mintPrincipal({ scopes: ["keys:write", "vault:read"], environment: "test" });
    const e = err(await keys.create(sandbox, { name: "x", environment: "live", scopes: ["vault:read"] }));
    expect(e.code).toBe("environment_mismatch");
    expect(ok(await keys.create(sandbox, { name: "x", environment: "test", scopes: ["vault:read"] })).environment).toBe("test");
    const oauth = mintPrincipal({ auth_method: "oauth", scopes: ["keys:write"] });
    expect(ok(await keys.create(oauth, { name: "x", environment: "live", scopes: ["keys:write"] })).environment).toBe("live");
  });

  it("creates a key that works at once, returns the raw key once and stores only its digest", async () => {
    const { t, keys, admin } = setup();
    const created = ok(await keys.create(admin, { name: "CI", environment: "test", scopes: ["vault:read"] }));
    expect(created.key).toMatch(/^ak_test_[0-9A-Za-z]{38}$/);
    expect(created).toMatchObject({ name: "CI", environment: "test", rate_limit_tier: "pro", scopes: ["vault:read"], status: "active", last_used_at: null, revoked_at: null, expires_at: null });
    expect(created.prefix).toBe(created.key.slice(0, 12));
    const stored = await t.keyStore.get(admin.tenant_id, created.id);
    expect(JSON.stringify(stored)).not.toContain(created.key.slice(12));
    expect(stored?.digest).toBe(t.keyHasher.digest(created.key));
    const listed = ok(await keys.get(admin, created.id));
    expect(listed).not.toHaveProperty("key");
    expect(listed).not.toHaveProperty("digest");
    expect((await t.call(whoami, { key: created.key })).kind).toBe("continue");
  });

  it("never grants a scope its creator lacks", async () => {
    const { keys, admin } = setup();
    const e = err(await keys.create(admin, { name: "x", environment: "live", scopes: ["vault:read", "chat:write", "billing:write"] }));
    expect(e.code).toBe("insufficient_scope");
    expect(e.extensions).toEqual({ missing_scopes: ["billing:write", "chat:write"] });
  });

  it("answers validation_failed with every bad field", async () => {
    const { keys, admin } = setup();
    const e = err(await keys.create(admin, { name: "", environment: "prod", scopes: ["vault"], expires_at: "2020-01-01T00:00:00Z" }));
    expect(e.code).toBe("validation_failed");
    expect((e.extensions?.["errors"] as { field: string }[]).map((x) => x.field)).toEqual(["name", "environment", "scopes", "expires_at"]);
    expect(err(await keys.create(admin, { name: "x".repeat(201), environment: "live", scopes: [] })).code).toBe("validation_failed");
  });

  it("keeps tenants apart", async () => {
    const { keys, admin } = setup();
    const created = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    const other = mintPrincipal({ tenant_id: "another-tenant", scopes: ["keys:read", "keys:write"] });
    expect(await keys.list(other)).toEqual([]);
    expect(err(await keys.get(other, created.id)).code).toBe("not_found");
    expect(err(await keys.revoke(other, created.id)).code).toBe("not_found");
    expect(err(await keys.update(other, created.id, { name: "stolen" })).code).toBe("not_found");
    expect((await keys.list(admin)).map((k) => k.id)).toEqual([created.id]);
  });

  it("revokes a key on every instance that is told, at once", async () => {
    const { t, keys, admin, invalidated } = setup();
    const created = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    expect((await t.call(whoami, { key: created.key })).kind).toBe("continue"); // now cached
    const revoked = ok(await keys.revoke(admin, created.id));
    expect(revoked.status).toBe("revoked");
    expect(revoked.revoked_at).toBe(new Date(t.clock.now()).toISOString());
    expect(invalidated).toHaveLength(1);
    const d = await t.call(whoami, { key: created.key });
    expect(d.kind === "reject" && d.problem.code).toBe("api_key_revoked");
    expect(ok(await keys.revoke(admin, created.id))).toEqual(revoked);
  });

  it("updates name and scopes, never beyond the caller's", async () => {
    const { keys, admin } = setup();
    const created = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
    const renamed = ok(await keys.update(admin, created.id, { name: "B", scopes: ["vault:write", "vault:read"] }));
    expect(renamed).toMatchObject({ name: "B", scopes: ["vault:read", "vault:write"] });
    expect(err(await keys.update(admin, created.id, { scopes: ["admin:write"] })).code).toBe("insufficient_scope");
    expect(err(await keys.update(admin, created.id, { environment: "test" })).code).toBe("validation_failed");
  });

  it("rolls a key: both work during the grace period, then only the new one", async () => {
    const { t, keys, admin } = setup();
    const old = ok(await keys.create(admin, { name: "Backend", environment: "live", scopes: ["vault:read"] }));
    const rolled: CreatedKey = ok(await keys.roll(admin, old.id, { grace_period_seconds: 3600 }));
    expect(rolled.key).not.toBe(old.key);
    expect(rolled).toMatchObject({ name: "Backend", environment: "live", scopes: ["vault:read"], rate_limit_tier: "pro", status: "active" });
    expect((await t.call(whoami, { key: old.key })).kind).toBe("continue");
    expect((await t.call(whoami, { key: rolled.key })).kind).toBe("continue");
    t.clock.advance(3600 * 1000);
    const d = await t.call(whoami, { key: old.key });
    expect(d.kind === "reject" && d.problem.code).toBe("api_key_expired");
    expect((await t.call(whoami, { key: rolled.key })).kind).toBe("continue");
    expect((ok(await keys.get(admin, old.id)) as KeyView).status).toBe("expired");
  });

  it("ends the old key at once with a zero grace period, and refuses more than 7 days", async () => {
    const { t, keys, admin } = setup();
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    const e = err(await keys.roll(admin, old.id, { grace_period_seconds: MAX_GRACE_PERIOD_SECONDS + 1 }));
    expect(e.code).toBe("validation_failed");
    expect(err(await keys.roll(admin, old.id, { grace_period_seconds: 1.5 })).code).toBe("validation_failed");
    ok(await keys.roll(admin, old.id, { grace_period_seconds: 0 }));
    const d = await t.call(whoami, { key: old.key });
    expect(d.kind === "reject" && d.problem.code).toBe("api_key_expired");
    expect(err(await keys.roll(admin, old.id, {})).code).toBe("validation_failed");
  });

  it("expires a key at its expires_at", async () => {
    const { t, keys, admin } = setup();
    const created = ok(await keys.create(admin, { name: "Temp", environment: "test", scopes: [], expires_at: new Date(t.clock.now() + 60_000).toISOString() }));
    expect((await t.call(whoami, { key: created.key })).kind).toBe("continue");
    t.clock.advance(60_000);
    const d = await t.call(whoami, { key: created.key });
    expect(d.kind === "reject" && d.problem.code).toBe("api_key_expired");
  });

  it("gives OAuth-created keys the standard tier and no email", async () => {
    const { t, keys } = setup();
    const oauth = mintPrincipal({ auth_method: "oauth", scopes: ["keys:write"] });
    const created = ok(await keys.create(oauth, { name: "From OAuth", environment: "test", scopes: ["keys:write"] }));
    expect(created.rate_limit_tier).toBe("standard");
    expect((await t.keyStore.get(oauth.tenant_id, created.id))?.email).toBeNull();
  });

  it("never loses a revoke to a concurrent rename or roll (field-level, atomic changes)", async () => {
    const { t, keys, admin } = setup();
    for (let i = 0; i < 5; i++) {
      const k = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
      const [revoked, renamed] = await Promise.all([keys.revoke(admin, k.id), keys.update(admin, k.id, { name: "B", scopes: ["vault:read", "vault:write"] })]);
      expect(ok(revoked).status).toBe("revoked");
      expect(ok(renamed).name).toBe("B");
      const stored = await t.keyStore.get(admin.tenant_id, k.id);
      expect(stored).toMatchObject({ name: "B", scopes: ["vault:read", "vault:write"] });
      expect(stored?.revoked_at).not.toBeNull();
      const d = await t.call(whoami, { key: k.key });
      expect(d.kind === "reject" && d.problem.code).toBe("api_key_revoked");
      const r = ok(await keys.create(admin, { name: "R", environment: "live", scopes: [] }));
      await Promise.all([keys.revoke(admin, r.id), keys.roll(admin, r.id, { grace_period_seconds: 3600 })]);
      expect((await t.keyStore.get(admin.tenant_id, r.id))?.revoked_at).not.toBeNull();
    }
  });

  it("gives a key one successor when two rolls race, and revokes the loser's new key", async () => {
    const { t, keys, admin } = setup();
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    const [a, b] = await Promise.all([keys.roll(admin, old.id, { grace_period_seconds: 60 }), keys.roll(admin, old.id, { grace_period_seconds: 60 })]);
    const won = [a, b].filter((x) => !isPolicyError(x));
    expect(won).toHaveLength(1);
    expect(err([a, b].find(isPolicyError)).code).toBe("validation_failed");
    const active = (await keys.list(admin)).filter((k) => k.status === "active" && k.id !== old.id);
    expect(active.map((k) => k.id)).toEqual([(won[0] as CreatedKey).id]);
    expect((await t.call(whoami, { key: (won[0] as CreatedKey).key })).kind).toBe("continue");
  });

  it("leaves the old key as it was when a roll fails halfway, and the unseen new key revoked", async () => {
    const { t, admin } = setup();
    const base = t.keyStore;
    let failNext = false;
    const flaky = {
      findByDigest: (d: string) => base.findByDigest(d),
      put: (r: Parameters<typeof base.put>[0]) => base.put(r),
      get: (a: string, b: string) => base.get(a, b),
      list: (a: string) => base.list(a),
      patch: (a: string, id: string, p: Parameters<typeof base.patch>[2]) => {
        if (failNext && p.expiresBy !== undefined) return Promise.reject(new Error("store down"));
        return base.patch(a, id, p);
      },
    };
    const keys = createKeyManager({ keyStore: flaky, keyHasher: t.keyHasher, clock: t.clock });
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    failNext = true;
    await expect(keys.roll(admin, old.id, { grace_period_seconds: 0 })).rejects.toThrow("store down");
    const all = await keys.list(admin);
    expect(all.find((k) => k.id === old.id)).toMatchObject({ status: "active", expires_at: null });
    expect(all.filter((k) => k.id !== old.id).map((k) => k.status)).toEqual(["revoked"]);
    expect((await t.call(whoami, { key: old.key })).kind).toBe("continue");
  });

  it("keeps test keys away from live keys: no create, roll, update or revoke", async () => {
    const { keys, admin } = setup();
    const live = ok(await keys.create(admin, { name: "Prod", environment: "live", scopes: ["vault:read"] }));
    const sandbox = mintPrincipal({ scopes: ["keys:write", "keys:read", "vault:read"], environment: "test" });
    for (const attempt of [keys.roll(sandbox, live.id, { grace_period_seconds: 60 }), keys.update(sandbox, live.id, { name: "x" }), keys.revoke(sandbox, live.id)]) {
      expect(err(await attempt).code).toBe("environment_mismatch");
    }
    expect(ok(await keys.get(sandbox, live.id)).status).toBe("active");
    const testDeployment = createKeyManager({ keyStore: setup().t.keyStore, keyHasher: setup().t.keyHasher, environment: "test" });
    expect(err(await testDeployment.create(mintPrincipal({ auth_method: "oauth", scopes: [] }), { name: "x", environment: "live", scopes: [] })).code).toBe("environment_mismatch");
  });

  it("gives a rolled key to the caller: its user and tier, never the old owner's", async () => {
    const { t, keys, admin } = setup();
    const boss = mintPrincipal({ user_id: "boss", email: "boss@example.com", scopes: ["keys:write", "vault:read"], rate_limit_tier: "enterprise", environment: "live" });
    const theirs = ok(await keys.create(boss, { name: "Boss key", environment: "live", scopes: ["vault:read"] }));
    expect(theirs.rate_limit_tier).toBe("enterprise");
    const rolled = ok(await keys.roll(admin, theirs.id, { grace_period_seconds: 60 }));
    expect(rolled.rate_limit_tier).toBe("pro");
    const record = await t.keyStore.get(admin.tenant_id, rolled.id);
    expect(record).toMatchObject({ user_id: admin.user_id, email: admin.email, name: "Boss key", scopes: ["vault:read"] });
  });

  it("checks every scope of the resulting key on any update, a rename included", async () => {
    const { keys, admin } = setup();
    const k = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
    const keyAdmin = mintPrincipal({ scopes: ["keys:write"], environment: "live" });
    const e = err(await keys.update(keyAdmin, k.id, { name: "B" }));
    expect(e.code).toBe("insufficient_scope");
    expect(e.extensions).toMatchObject({ missing_scopes: ["vault:read"] });
  });

  it("takes strict RFC 3339 expiries and names without control characters", async () => {
    const { t, keys, admin } = setup();
    for (const expires_at of ["2030", "Tue, 01 Jan 2030 00:00:00 GMT", "2030-02-30T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01 00:00:00Z", 1893456000000]) {
      expect(err(await keys.create(admin, { name: "x", environment: "live", scopes: [], expires_at })).code, String(expires_at)).toBe("validation_failed");
    }
    const ok1 = ok(await keys.create(admin, { name: "x", environment: "live", scopes: [], expires_at: "2030-01-01T01:00:00+01:00" }));
    expect(ok1.expires_at).toBe("2030-01-01T00:00:00.000Z");
    expect(t.clock.now()).toBeLessThan(Date.parse("2030-01-01T00:00:00Z"));
    expect(err(await keys.create(admin, { name: "a\u0000b", environment: "live", scopes: [] })).code).toBe("validation_failed");
    expect(err(await keys.roll(admin, ok1.id, { grace_period_seconds: null })).code).toBe("validation_failed");
  });
});

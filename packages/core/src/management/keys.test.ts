import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { createVerifiedKeyCache, MemoryKeyStore, type KeyStore } from "../credentials";
import { createKeyHasher, type Environment } from "../keys";
import { decodeCursor } from "../pagination";
import { ProblemError, isPolicyError, type PolicyError } from "../problems";
import { createTestPolicy, FakeClock, mintPrincipal, TEST_PEPPER } from "../testing";
import { createKeyManager, MAX_GRACE_PERIOD_SECONDS, type CreatedKey, type KeyManagerPolicy, type KeyView } from "./keys";

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
    expect((await keys.list(other)).data).toEqual([]);
    expect(err(await keys.get(other, created.id)).code).toBe("not_found");
    expect(err(await keys.revoke(other, created.id)).code).toBe("not_found");
    expect(err(await keys.update(other, created.id, { name: "stolen" })).code).toBe("not_found");
    expect((await keys.list(admin)).data.map((k) => k.id)).toEqual([created.id]);
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
    expect(err(await keys.roll(admin, old.id, {})).code).toBe("key_already_rolled");
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

  it("gives a key one successor when 50 rolls race with a grace period: one 201, 49 key_already_rolled, losers' new keys never active", async () => {
    const { t, keys, admin } = setup();
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    const all = await Promise.all(Array.from({ length: 50 }, () => keys.roll(admin, old.id, { grace_period_seconds: 3600 })));
    const won = all.filter((x) => !isPolicyError(x));
    expect(won).toHaveLength(1);
    expect(all.filter(isPolicyError).map((e) => e.code)).toEqual(Array.from({ length: 49 }, () => "key_already_rolled"));
    expect((await t.keyStore.get(admin.tenant_id, old.id))?.successor_id).toBe((won[0] as CreatedKey).id);
    const active = (await keys.list(admin, { limit: 100 })).data.filter((k) => k.status === "active" && k.id !== old.id);
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
      list: (a: string, o?: Parameters<typeof base.list>[1]) => base.list(a, o),
      insert: (r: Parameters<typeof base.put>[0], o?: Parameters<typeof base.insert>[1]) => base.insert(r, o),
      patch: (a: string, id: string, p: Parameters<typeof base.patch>[2]) => {
        if (failNext && p.expiresBy !== undefined) return Promise.reject(new Error("store down"));
        return base.patch(a, id, p);
      },
    };
    const keys = createKeyManager({ keyStore: flaky, keyHasher: t.keyHasher, clock: t.clock });
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    failNext = true;
    await expect(keys.roll(admin, old.id, { grace_period_seconds: 0 })).rejects.toMatchObject({ code: "service_unavailable", status: 503 });
    const all = (await keys.list(admin)).data;
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

  it("refuses to strip, roll or revoke a key holding scopes the caller lacks (403 insufficient_scope with missing_scopes)", async () => {
    const { t, keys, admin } = setup();
    const three = ok(await keys.create(admin, { name: "Three", environment: "live", scopes: ["vault:read", "vault:write", "keys:read"] }));
    const six = ok(await keys.create(admin, { name: "Six", environment: "live", scopes: ["keys:read", "keys:write", "vault:read", "vault:write"] }));
    const keyAdmin = mintPrincipal({ tenant_id: admin.tenant_id, scopes: ["keys:write"], environment: "live" });
    const strip = err(await keys.update(keyAdmin, three.id, { scopes: [] }));
    expect(strip.code).toBe("insufficient_scope");
    expect(strip.extensions).toEqual({ missing_scopes: ["keys:read", "vault:read", "vault:write"] });
    expect(strip.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="keys:read vault:read vault:write"');
    const revoke = err(await keys.revoke(keyAdmin, six.id));
    expect(revoke.code).toBe("insufficient_scope");
    expect(revoke.extensions).toEqual({ missing_scopes: ["keys:read", "vault:read", "vault:write"] });
    expect(err(await keys.roll(keyAdmin, six.id, { grace_period_seconds: 60 })).extensions).toEqual({ missing_scopes: ["keys:read", "vault:read", "vault:write"] });
    // Both directions at once: the caller lacks one scope the key has now and one it asks for.
    const partial = mintPrincipal({ tenant_id: admin.tenant_id, scopes: ["keys:write", "vault:read", "vault:write"], environment: "live" });
    const both = err(await keys.update(partial, three.id, { scopes: ["vault:read", "chat:read"] }));
    expect(both.extensions).toEqual({ missing_scopes: ["chat:read", "keys:read"] });
    expect(await t.keyStore.get(admin.tenant_id, three.id)).toMatchObject({ scopes: ["keys:read", "vault:read", "vault:write"], revoked_at: null });
    expect(await t.keyStore.get(admin.tenant_id, six.id)).toMatchObject({ revoked_at: null, expires_at: null });
    expect((await t.keyStore.get(admin.tenant_id, six.id))?.successor_id ?? null).toBeNull();
    // Holding every scope of the key is enough to cut it down.
    expect(ok(await keys.update(admin, three.id, { scopes: [] })).scopes).toEqual([]);
  });

  it("refuses a weaker caller's change when the key was widened between its read and its write", async () => {
    const { t, admin } = setup();
    const base = t.keyStore;
    // Another admin widens the key just before each guarded patch lands.
    const racing = {
      findByDigest: (d: string) => base.findByDigest(d),
      put: (r: Parameters<typeof base.put>[0]) => base.put(r),
      insert: (r: Parameters<typeof base.put>[0], o?: Parameters<typeof base.insert>[1]) => base.insert(r, o),
      get: (a: string, b: string) => base.get(a, b),
      list: (a: string, o?: Parameters<typeof base.list>[1]) => base.list(a, o),
      patch: async (a: string, id: string, p: Parameters<typeof base.patch>[2]) => {
        if (p.ifScopesWithin && p.successorId === undefined) {
          const now = await base.get(a, id);
          if (now && !now.scopes.includes("billing:write")) await base.patch(a, id, { scopes: [...now.scopes, "billing:write"].sort() });
        }
        return base.patch(a, id, p);
      },
    };
    const keys = createKeyManager({ keyStore: racing, keyHasher: t.keyHasher, clock: t.clock });
    const k = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
    const update = err(await keys.update(admin, k.id, { scopes: [] }));
    expect(update.code).toBe("insufficient_scope");
    expect(update.extensions).toEqual({ missing_scopes: ["billing:write"] });
    expect((await base.get(admin.tenant_id, k.id))?.scopes).toEqual(["billing:write", "vault:read"]);
    const k2 = ok(await keys.create(admin, { name: "B", environment: "live", scopes: ["vault:read"] }));
    expect(err(await keys.revoke(admin, k2.id)).extensions).toEqual({ missing_scopes: ["billing:write"] });
    expect((await base.get(admin.tenant_id, k2.id))?.revoked_at).toBeNull();
  });

  it("lets a key holding keys:write revoke itself whatever its scopes, and nobody else's stronger key", async () => {
    const { t, keys, admin } = setup();
    const own = ok(await keys.create(admin, { name: "Own", environment: "live", scopes: ["keys:write", "vault:read"] }));
    const self = mintPrincipal({ tenant_id: admin.tenant_id, api_key_id: own.id, scopes: ["keys:write"], environment: "live" });
    expect(ok(await keys.revoke(self, own.id)).status).toBe("revoked");
    const d = await t.call(whoami, { key: own.key });
    expect(d.kind === "reject" && d.problem.code).toBe("api_key_revoked");
    const stranger = mintPrincipal({ tenant_id: admin.tenant_id, scopes: ["keys:write"], environment: "live" });
    const other = ok(await keys.create(admin, { name: "Other", environment: "live", scopes: ["vault:read"] }));
    expect(err(await keys.revoke(stranger, other.id)).code).toBe("insufficient_scope");
  });

  it("refuses a second roll of a key in its grace period with 409 key_already_rolled, and answers no-ops without writing", async () => {
    const { t, keys, admin, invalidated } = setup();
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
    const first = ok(await keys.roll(admin, old.id, { grace_period_seconds: 3600 }));
    const endsAt = (await t.keyStore.get(admin.tenant_id, old.id))?.expires_at;
    const again = err(await keys.roll(admin, old.id, { grace_period_seconds: 3600 }));
    expect(again.code).toBe("key_already_rolled");
    t.clock.advance(3600 * 1000); // expired now: still the same answer
    expect(err(await keys.roll(admin, old.id, { grace_period_seconds: 0 })).code).toBe("key_already_rolled");
    expect((await t.keyStore.get(admin.tenant_id, old.id))?.expires_at).toBe(endsAt);
    expect(ok(await keys.roll(admin, first.id, { grace_period_seconds: 0 })).status).toBe("active"); // the successor rolls on
    invalidated.length = 0;
    const k = ok(await keys.create(admin, { name: "Same", environment: "live", scopes: ["vault:read"] }));
    ok(await keys.update(admin, k.id, { name: "Same", scopes: ["vault:read"] }));
    expect(invalidated).toEqual([]);
    ok(await keys.revoke(admin, k.id));
    ok(await keys.revoke(admin, k.id));
    expect(invalidated).toHaveLength(1);
  });

  it("validates maxActiveKeys when it is built, naming the option", () => {
    const { t } = setup();
    for (const maxActiveKeys of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3"]) {
      expect(() => createKeyManager({ keyStore: t.keyStore, keyHasher: t.keyHasher, maxActiveKeys: maxActiveKeys as number })).toThrow(/`maxActiveKeys`/);
    }
    const noInsert = { findByDigest: t.keyStore.findByDigest.bind(t.keyStore), put: t.keyStore.put.bind(t.keyStore), get: t.keyStore.get.bind(t.keyStore), list: t.keyStore.list.bind(t.keyStore), patch: t.keyStore.patch.bind(t.keyStore) };
    expect(() => createKeyManager({ keyStore: noInsert, keyHasher: t.keyHasher })).toThrow(/`insert`/);
  });

  it("caps a tenant's active keys: one more create is 409 key_limit_reached; revoked and expired keys do not count; a roll is never refused", async () => {
    const { t, admin } = setup();
    const keys = createKeyManager({ keyStore: t.keyStore, keyHasher: t.keyHasher, clock: t.clock, maxActiveKeys: 3 });
    const a = ok(await keys.create(admin, { name: "a", environment: "live", scopes: [] }));
    ok(await keys.create(admin, { name: "b", environment: "live", scopes: [], expires_at: new Date(t.clock.now() + 60_000).toISOString() }));
    const c = ok(await keys.create(admin, { name: "c", environment: "live", scopes: [] }));
    const full = err(await keys.create(admin, { name: "d", environment: "live", scopes: [] }));
    expect(full.code).toBe("key_limit_reached");
    expect((await keys.list(admin, { limit: 100 })).data.map((k) => k.name).sort()).toEqual(["a", "b", "c"]);
    // Another tenant has its own cap.
    ok(await keys.create(mintPrincipal({ tenant_id: "another-tenant", scopes: [], environment: "live" }), { name: "x", environment: "live", scopes: [] }));
    // A roll at the cap: allowed (the old key ends), even past the cap during the grace period.
    const rolled = ok(await keys.roll(admin, a.id, { grace_period_seconds: 600 }));
    expect(err(await keys.create(admin, { name: "d", environment: "live", scopes: [] })).code).toBe("key_limit_reached");
    ok(await keys.revoke(admin, c.id));
    expect(err(await keys.create(admin, { name: "d", environment: "live", scopes: [] })).code).toBe("key_limit_reached"); // a in grace, b, rolled
    t.clock.advance(60_000); // b expires: a (in grace) and its successor remain
    ok(await keys.create(admin, { name: "d", environment: "live", scopes: [] }));
    expect(err(await keys.create(admin, { name: "e", environment: "live", scopes: [] })).code).toBe("key_limit_reached");
    t.clock.advance(600_000); // a's grace ends
    ok(await keys.create(admin, { name: "e", environment: "live", scopes: [] }));
    expect(err(await keys.create(admin, { name: "f", environment: "live", scopes: [] })).code).toBe("key_limit_reached");
    expect(ok(await keys.get(admin, rolled.id)).status).toBe("active");
  });

  it("never lets concurrent creates exceed the cap", async () => {
    const { t, admin } = setup();
    const keys = createKeyManager({ keyStore: t.keyStore, keyHasher: t.keyHasher, clock: t.clock, maxActiveKeys: 5 });
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => keys.create(admin, { name: `k${i}`, environment: "live", scopes: [] })));
    expect(all.filter((x) => !isPolicyError(x))).toHaveLength(5);
    expect(all.filter(isPolicyError).every((e) => e.code === "key_limit_reached")).toBe(true);
  });

  it("lists one page at a time, newest first, with a cursor that is stable while keys are created", async () => {
    const { t, keys, admin } = setup();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push(ok(await keys.create(admin, { name: `k${i}`, environment: "live", scopes: [] })).id);
      t.clock.advance(1000);
    }
    const first = await keys.list(admin, { limit: 2 });
    expect(first.data.map((k) => k.id)).toEqual([made[4], made[3]]);
    expect(first.has_more).toBe(true);
    ok(await keys.create(admin, { name: "newer", environment: "live", scopes: [] }));
    const cursor = decodeCursor(first.next_cursor!);
    if (isPolicyError(cursor)) throw new Error("bad cursor");
    const second = await keys.list(admin, { limit: 2, cursor });
    expect(second.data.map((k) => k.id)).toEqual([made[2], made[1]]);
    const third = await keys.list(admin, { limit: 2, cursor: decodeCursor(second.next_cursor!) as { created_at: string; id: string } });
    expect(third).toEqual({ data: [expect.objectContaining({ id: made[0] })], has_more: false, next_cursor: null });
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

/** The memory store with its own `insert` (to run a step between a roll's read and its write). */
function withInsert(base: MemoryKeyStore, insert: NonNullable<KeyStore["insert"]>): KeyStore {
  return {
    findByDigest: (d) => base.findByDigest(d),
    put: (r) => base.put(r),
    get: (a, b) => base.get(a, b),
    list: (a, o) => base.list(a, o),
    insert,
    patch: (a, id, p) => base.patch(a, id, p),
    removeUnused: (a, id, d) => base.removeUnused(a, id, d),
    touch: (a, id, at) => base.touch(a, id, at),
  };
}

describe("createKeyManager key lifecycle hardening", () => {
  it("refuses a name that is not well-formed UTF-16 (a lone surrogate) with 422, on create and update", async () => {
    const { keys, admin } = setup();
    for (const name of ["x\ud800", "\udc00x", "a\udbff\udbffb"]) {
      expect(err(await keys.create(admin, { name, environment: "live", scopes: [] })).code).toBe("validation_failed");
    }
    const k = ok(await keys.create(admin, { name: "rocket \ud83d\ude80", environment: "live", scopes: [] }));
    expect(k.name).toBe("rocket \ud83d\ude80");
    expect(err(await keys.update(admin, k.id, { name: "y\ud800" })).code).toBe("validation_failed");
    expect(ok(await keys.get(admin, k.id)).name).toBe("rocket \ud83d\ude80");
  });

  it("keeps a chain of rolls to two active keys: rolling a key ends its predecessor's grace, so 30 rolls at the cap leave cap + 1 active", async () => {
    const { t, admin } = setup();
    const cap = 10;
    const keys = createKeyManager({ keyStore: t.keyStore, keyHasher: t.keyHasher, clock: t.clock, maxActiveKeys: cap });
    let current = ok(await keys.create(admin, { name: "chain", environment: "live", scopes: [] }));
    for (let i = 1; i < cap; i++) ok(await keys.create(admin, { name: `k${i}`, environment: "live", scopes: [] }));
    const chain = [current];
    for (let i = 0; i < 30; i++) {
      t.clock.advance(1000);
      current = ok(await keys.roll(admin, current.id, { grace_period_seconds: MAX_GRACE_PERIOD_SECONDS }));
      chain.push(current);
      const active = (await keys.list(admin, { limit: 100 })).data.filter((k) => k.status === "active");
      // The bound: the tenant's cap - 1 other keys, the chain's newest key and the one it replaced (in its grace).
      expect(active).toHaveLength(cap + 1);
    }
    const statuses = await Promise.all(chain.map(async (k) => ok(await keys.get(admin, k.id)).status));
    expect(statuses.slice(0, -2).every((s) => s === "expired")).toBe(true);
    expect(statuses.slice(-2)).toEqual(["active", "active"]);
    // The ended predecessors stop authenticating; the one in grace and the newest work.
    expect((await t.call(whoami, { key: chain[chain.length - 3]!.key })).kind).not.toBe("continue");
    expect((await t.call(whoami, { key: chain[chain.length - 2]!.key })).kind).toBe("continue");
    expect((await t.call(whoami, { key: current.key })).kind).toBe("continue");
    expect((await t.keyStore.get(admin.tenant_id, current.id))?.predecessor_id).toBe(chain[chain.length - 2]!.id);
  });

  it("gives the successor the name and scopes the key holds when the roll takes effect: a cut between the roll's read and its step is kept", async () => {
    const { t, admin } = setup();
    const base = t.keyStore;
    let interleave: (() => Promise<unknown>) | null = null;
    const racing = withInsert(base, async (r, o) => {
        const outcome = await base.insert(r, o);
        const step = interleave;
        interleave = null;
        if (step) await step(); // after the roll read the key, before it records the successor
        return outcome;
    });
    const keys = createKeyManager({ keyStore: racing, keyHasher: t.keyHasher, clock: t.clock });
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: ["vault:read", "vault:write"] }));
    interleave = async () => ok(await keys.update(admin, old.id, { scopes: ["vault:read"], name: "A (read only)" }));
    const rolled = ok(await keys.roll(admin, old.id, { grace_period_seconds: 3600 }));
    expect(rolled).toMatchObject({ scopes: ["vault:read"], name: "A (read only)" });
    expect((await base.get(admin.tenant_id, old.id))?.successor_id).toBe(rolled.id);
    // The attempt that lost left nothing behind: two keys, the old one and its successor.
    expect((await keys.list(admin, { limit: 100 })).data.map((k) => k.id).sort()).toEqual([old.id, rolled.id].sort());
  });

  it("answers 503 service_unavailable (never 500) when the key keeps changing under every attempt, leaving it as it is", async () => {
    const { t, admin } = setup();
    const base = t.keyStore;
    let n = 0;
    let target = "";
    const racing = withInsert(base, async (r, o) => {
      const outcome = await base.insert(r, o);
      if (target) await base.patch(admin.tenant_id, target, { name: `renamed ${n++}` });
      return outcome;
    });
    const keys = createKeyManager({ keyStore: racing, keyHasher: t.keyHasher, clock: t.clock });
    const old = ok(await keys.create(admin, { name: "A", environment: "live", scopes: [] }));
    target = old.id;
    const e = err(await keys.roll(admin, old.id, {}));
    expect(e.code).toBe("service_unavailable");
    expect(e.headers?.["retry-after"]).toBe("1");
    expect((await keys.list(admin, { limit: 100 })).data.map((k) => k.id)).toEqual([old.id]);
    expect(ok(await keys.get(admin, old.id))).toMatchObject({ status: "active", expires_at: null });
  });

  it("removes the new keys of the rolls that lost a race: the list holds the old key and one successor only", async () => {
    const { keys, admin } = setup();
    for (const grace of [0, 3600]) {
      const old = ok(await keys.create(admin, { name: `A${grace}`, environment: "live", scopes: [] }));
      const all = await Promise.all(Array.from({ length: 50 }, () => keys.roll(admin, old.id, { grace_period_seconds: grace })));
      const won = all.filter((x): x is CreatedKey => !isPolicyError(x));
      expect(won).toHaveLength(1);
      const listed = (await keys.list(admin, { limit: 100 })).data.filter((k) => k.name === `A${grace}`);
      expect(listed.map((k) => k.id).sort()).toEqual([old.id, won[0]!.id].sort());
    }
  });
});

describe("createKeyManager when the key store is down", () => {
  /** The test policy's store, with every call failing from `down = true` on, as a Redis outage would. */
  function flaky() {
    const { t, admin } = setup();
    let down = false;
    const failures: string[] = [];
    const store = t.keyStore;
    const fail = <A extends unknown[], R>(call: (...a: A) => Promise<R>) => (...a: A): Promise<R> => (down ? Promise.reject(new Error("connection refused")) : call(...a));
    const keyStore = {
      findByDigest: fail(store.findByDigest.bind(store)),
      put: fail(store.put.bind(store)),
      get: fail(store.get.bind(store)),
      list: fail(store.list.bind(store)),
      insert: fail(store.insert!.bind(store)),
      patch: fail(store.patch!.bind(store)),
    };
    const keys = createKeyManager({ keyStore, keyHasher: t.keyHasher, clock: t.clock, onStoreError: (_e, op) => failures.push(op) });
    return { keys, admin, failures, setDown: (v: boolean) => (down = v) };
  }

  async function unavailable(call: Promise<unknown>) {
    const e = await call.then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(ProblemError);
    expect((e as ProblemError).code).toBe("service_unavailable");
    expect((e as ProblemError).status).toBe(503);
    expect((e as ProblemError).headers).toEqual({ "retry-after": "1" });
  }

  it("answers every call with 503 service_unavailable (Retry-After), never a bare error, and recovers with the store", async () => {
    const { keys, admin, failures, setDown } = flaky();
    const made = ok(await keys.create(admin, { name: "before", environment: "live", scopes: ["vault:read"] }));
    setDown(true);
    await unavailable(keys.create(admin, { name: "x", environment: "live", scopes: [] }));
    await unavailable(keys.list(admin));
    await unavailable(keys.get(admin, made.id));
    await unavailable(keys.update(admin, made.id, { name: "y" }));
    await unavailable(keys.revoke(admin, made.id));
    await unavailable(keys.roll(admin, made.id, {}));
    expect(new Set(failures)).toEqual(new Set(["insert", "list", "get"]));
    setDown(false);
    expect(ok(await keys.update(admin, made.id, { name: "after" })).name).toBe("after");
    expect((await keys.list(admin)).data.map((k) => k.name)).toContain("after");
  });

  it("keeps a bug a bug: a TypeError from the store is thrown as it is", async () => {
    const { t, admin } = setup();
    const keyStore = { ...t.keyStore, get: () => Promise.reject(new TypeError("bad record")), list: t.keyStore.list.bind(t.keyStore), insert: t.keyStore.insert!.bind(t.keyStore), patch: t.keyStore.patch!.bind(t.keyStore), put: t.keyStore.put.bind(t.keyStore), findByDigest: t.keyStore.findByDigest.bind(t.keyStore) };
    const keys = createKeyManager({ keyStore, keyHasher: t.keyHasher, clock: t.clock });
    await expect(keys.get(admin, "some-id")).rejects.toBeInstanceOf(TypeError);
  });
});

describe("createKeyManager({ policy })", () => {
  // What `Policy` holds once it takes `stores`, built by hand: a store, a hasher, an environment
  // and the verified-key cache in front of the store. The clock never moves, so only an
  // invalidation can empty the cache.
  function withPolicy(environment: Environment = "live") {
    const clock = new FakeClock();
    const store = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const keyCache = createVerifiedKeyCache({ store, hasher: keyHasher, clock });
    const policy: KeyManagerPolicy = { stores: { keys: store }, keyHasher, environment, keyCache };
    const keys = createKeyManager({ policy, clock });
    const admin = mintPrincipal({ scopes: ["keys:write", "vault:read", "vault:write"], environment: "live" });
    return { clock, store, keyHasher, keyCache, policy, keys, admin };
  }

  it.each([
    ["a revoke", (k: ReturnType<typeof withPolicy>, id: string) => k.keys.revoke(k.admin, id)],
    ["a roll", (k: ReturnType<typeof withPolicy>, id: string) => k.keys.roll(k.admin, id, { grace_period_seconds: 60 })],
    ["a scope change", (k: ReturnType<typeof withPolicy>, id: string) => k.keys.update(k.admin, id, { scopes: ["vault:read"] })],
    ["a rename", (k: ReturnType<typeof withPolicy>, id: string) => k.keys.update(k.admin, id, { name: "renamed" })],
  ])("drops the policy's cached verification at once on %s", async (_name, change) => {
    const k = withPolicy();
    const created = ok(await k.keys.create(k.admin, { name: "A", environment: "live", scopes: ["vault:read", "vault:write"] }));
    const before = await k.keyCache.lookup(created.key);
    expect(before?.id).toBe(created.id);
    expect(k.keyCache.peek(created.key)).toEqual(before); // cached, and fresh for the unmoved clock
    ok(await change(k, created.id));
    expect(k.keyCache.peek(created.key)).toBeUndefined();
    expect(await k.keyCache.lookup(created.key)).toEqual(await k.store.get(k.admin.tenant_id, created.id));
  });

  it("leaves the cache alone for a change that changes nothing, and a manager without invalidate keeps the stale entry", async () => {
    const k = withPolicy();
    const created = ok(await k.keys.create(k.admin, { name: "A", environment: "live", scopes: ["vault:read"] }));
    await k.keyCache.lookup(created.key);
    ok(await k.keys.update(k.admin, created.id, { name: "A" }));
    expect(k.keyCache.peek(created.key)).toBeDefined();
    // The explicit form without `invalidate`: the same revoke leaves the cache answering the old record.
    const untold = createKeyManager({ keyStore: k.store, keyHasher: k.keyHasher, clock: k.clock });
    ok(await untold.revoke(k.admin, created.id));
    expect(k.keyCache.peek(created.key)?.revoked_at).toBeNull();
  });

  it("uses the policy's store, hasher and environment", async () => {
    const k = withPolicy("test");
    expect(err(await k.keys.create(k.admin, { name: "L", environment: "live", scopes: [] })).code).toBe("environment_mismatch");
    const created = ok(await k.keys.create(k.admin, { name: "T", environment: "test", scopes: [] }));
    expect((await k.store.get(k.admin.tenant_id, created.id))?.digest).toBe(k.keyHasher.digest(created.key));
    expect((await k.keyCache.lookup(created.key))?.id).toBe(created.id);
  });

  it.each(["keyStore", "keyHasher", "environment", "invalidate"] as const)("throws a TypeError naming `%s` when it is given with `policy`", (name) => {
    const { policy, store, keyHasher } = withPolicy();
    const given = { keyStore: store, keyHasher, environment: "live", invalidate: () => {} }[name];
    const options = { policy, [name]: given } as unknown as Parameters<typeof createKeyManager>[0];
    expect(() => createKeyManager(options)).toThrow(TypeError);
    expect(() => createKeyManager(options)).toThrow(new RegExp(`\`${name}\` cannot be given with \`policy\``));
  });

  it("throws a TypeError naming the member of a policy that lacks it", () => {
    const { policy } = withPolicy();
    const without = (member: keyof KeyManagerPolicy) => {
      const { [member]: _dropped, ...rest } = policy;
      return rest as unknown as KeyManagerPolicy;
    };
    expect(() => createKeyManager({ policy: without("stores") })).toThrow(/`policy\.stores\.keys` must be a KeyStore/);
    expect(() => createKeyManager({ policy: without("keyHasher") })).toThrow(/`policy\.keyHasher`/);
    expect(() => createKeyManager({ policy: without("keyCache") })).toThrow(/`policy\.keyCache`/);
    expect(() => createKeyManager({ policy: { ...policy, environment: "prod" as Environment } })).toThrow(/`policy\.environment`/);
    expect(() => createKeyManager({ policy: null as unknown as KeyManagerPolicy })).toThrow(/`policy`/);
  });

  it("refuses the two forms mixed, in its types and when called", () => {
    const { policy, store, keyHasher } = withPolicy();
    // @ts-expect-error `keyStore` is the other form's
    expect(() => createKeyManager({ policy, keyStore: store })).toThrow(TypeError);
    // @ts-expect-error `invalidate` is the other form's
    expect(() => createKeyManager({ policy, invalidate: () => {} })).toThrow(TypeError);
    // @ts-expect-error the explicit form needs `keyHasher`
    expect(() => createKeyManager({ keyStore: store })).toThrow(/`keyHasher`/);
    expect(createKeyManager({ keyStore: store, keyHasher })).toBeDefined();
  });
});

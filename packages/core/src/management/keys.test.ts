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
});

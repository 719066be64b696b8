import { describe, expect, it } from "vitest";
import { FakeClock, createTestPolicy, mintPrincipal, policyRequest } from "./index";

describe("@alloovium/core/testing", () => {
  it("moves the fake clock only when told", () => {
    const c = new FakeClock(1000);
    expect(c.now()).toBe(1000);
    c.advance(500);
    expect(c.now()).toBe(1500);
    expect(() => c.advance(-1)).toThrow(RangeError);
  });

  it("mints principals shaped like GET /api/v2/me", () => {
    expect(Object.keys(mintPrincipal({ scopes: ["vault:write", "vault:read"] })).sort()).toEqual(
      ["api_key_id", "api_key_name", "api_key_prefix", "auth_method", "email", "environment", "rate_limit_tier", "scopes", "tenant_id", "user_id"],
    );
    expect(mintPrincipal({ scopes: ["vault:write", "vault:read"] }).scopes).toEqual(["vault:read", "vault:write"]);
    expect(mintPrincipal({ auth_method: "oauth", client_id: "c1" })).toEqual({
      user_id: "1f02d9ef-2b33-4d1d-9c4a-82f06a91e3d1", tenant_id: "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8", auth_method: "oauth", client_id: "c1", scopes: [],
    });
  });

  it("builds requests with the raw header list", () => {
    expect(policyRequest({ method: "post", path: "/p", key: "ak_x", idempotencyKey: "k", headers: { accept: "*/*" }, body: { a: 1 } })).toEqual({
      method: "POST", path: "/p", headers: ["accept", "*/*", "Authorization", "Bearer ak_x", "Idempotency-Key", "k"], body: { a: 1 },
    });
  });

  it("mints keys stored only as digests", async () => {
    const t = createTestPolicy();
    const { key, record } = await t.mintKey({ environment: "live", scopes: ["vault:read"] });
    expect(record.prefix).toBe(key.slice(0, 12));
    expect(JSON.stringify(await t.keyStore.list(record.tenant_id))).not.toContain(key.slice(12));
    expect(record.digest).toBe(t.keyHasher.digest(key));
  });
});

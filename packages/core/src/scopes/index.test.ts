import { describe, expect, it } from "vitest";
import { insufficientScope, isScope, missingScopes, normalizeScopes } from "./index";

describe("scopes", () => {
  it("recognises resource:action", () => {
    expect(isScope("vault:read")).toBe(true);
    expect(isScope("workflows:write")).toBe(true);
    for (const bad of ["vault", "Vault:read", "vault:", ":read", "vault:read:x", "vault read", "", 5]) expect(isScope(bad)).toBe(false);
  });

  it("sorts and dedupes", () => {
    expect(normalizeScopes(["vault:write", "chat:read", "vault:write", "bad"])).toEqual(["chat:read", "vault:write"]);
  });

  it("lists only the missing scopes, sorted", () => {
    expect(missingScopes(["vault:read"], ["vault:write", "chat:write", "vault:read"])).toEqual(["chat:write", "vault:write"]);
    expect(missingScopes(["vault:read"], ["vault:read"])).toEqual([]);
  });

  it("builds the seeds' 403 for one missing scope", () => {
    const e = insufficientScope("api_key", ["vault:write"], ["vault:write"]);
    expect(e.code).toBe("insufficient_scope");
    expect(e.detail).toBe("API key is missing required scope: vault:write");
    expect(e.extensions).toEqual({ missing_scopes: ["vault:write"] });
    expect(e.headers).toEqual({ "www-authenticate": 'Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"' });
  });

  it("names several scopes and OAuth tokens as the contract writes them", () => {
    const e = insufficientScope("oauth", ["vault:write", "chat:read", "vault:read"], ["vault:write", "chat:read"]);
    expect(e.detail).toBe("OAuth token is missing required scopes: chat:read, vault:write");
    expect(e.extensions).toEqual({ missing_scopes: ["chat:read", "vault:write"] });
    expect(e.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="chat:read vault:read vault:write"');
  });
});

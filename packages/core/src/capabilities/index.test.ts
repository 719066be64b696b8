import { describe, expect, it } from "vitest";
import { defineCapabilities, defineCapability, pathForDetail, type CapabilityInput } from "./index";

const base: CapabilityInput = { id: "vault.projects.get", method: "GET", path: "/api/v2/vault/projects/{id}", scopes: ["vault:read"], cost: 1, idempotent: true };

describe("defineCapability", () => {
  it("freezes a checked declaration with its route form", () => {
    const c = defineCapability(base);
    expect(c.routePath).toBe("/api/v2/vault/projects/:id");
    expect(c.params).toEqual(["id"]);
    expect(c.credits).toBe(0);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    [{ cost: -1 }, /`cost` must be an integer >= 0, got -1/],
    [{ cost: 1.5 }, /`cost` must be an integer >= 0, got 1.5/],
    [{ cost: Number.NaN }, /`cost` must be an integer >= 0, got NaN/],
    [{ cost: "1" }, /`cost` must be an integer >= 0, got string/],
    [{ credits: -2 }, /`credits`/],
    [{ scopes: ["vault"] }, /`scopes` has a malformed scope "vault"/],
    [{ scopes: ["Vault:Read"] }, /`scopes`/],
    [{ id: "whoami" }, /`id`/],
    [{ method: "FETCH" }, /`method`/],
    [{ path: "api/v2" }, /`path`/],
    [{ path: "/a/{id}/{id}" }, /repeats the parameter/],
    [{ idempotent: "yes" }, /`idempotent`/],
  ])("throws at start-up for %j, naming the field", (override, message) => {
    expect(() => defineCapability({ ...base, ...override } as CapabilityInput)).toThrow(message);
  });
});

describe("defineCapabilities", () => {
  const list = defineCapability({ ...base, id: "vault.projects.list", path: "/api/v2/vault/projects" });
  const create = defineCapability({ ...base, id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: ["vault:write"], cost: 2 });
  const get = defineCapability(base);
  const set = defineCapabilities([list, create, get]);

  it("refuses a duplicate id or route", () => {
    expect(() => defineCapabilities([get, get])).toThrow(/`id` "vault.projects.get" is declared twice/);
    expect(() => defineCapabilities([get, defineCapability({ ...base, id: "other.get", path: "/api/v2/vault/projects/{pid}" })])).toThrow(/declared twice/);
  });

  it("matches routes with decoded parameters", () => {
    const m = set.match("GET", "/api/v2/vault/projects/a%20b");
    expect("capability" in m && m.capability.id).toBe("vault.projects.get");
    expect("params" in m && m.params).toEqual({ id: "a b" });
  });

  it("matches a fixed segment written with percent-encoding as the same path (th%69ngs is things), and no other", () => {
    const m = set.match("GET", "/api/v2/vault/pr%6Fjects");
    expect("capability" in m && m.capability.id).toBe("vault.projects.list");
    const wrong = set.match("DELETE", "/api/v2/%76ault/projects");
    expect("error" in wrong && [wrong.error.code, wrong.error.headers]).toEqual(["method_not_allowed", { allow: "GET, POST" }]);
    // An encoded slash is part of one segment, never a separator; a bad escape names nothing.
    expect("error" in set.match("GET", "/api/v2%2Fvault/projects") && set.match("GET", "/api/v2%2Fvault/projects")).toMatchObject({ error: { code: "not_found" } });
    expect(set.match("GET", "/api/v2/vault/proj%E0cts")).toMatchObject({ error: { code: "not_found" } });
  });

  it("answers 404 for unknown paths and 405 with Allow for known paths", () => {
    const nf = set.match("GET", "/api/v2/nope");
    expect("error" in nf && nf.error.code).toBe("not_found");
    const na = set.match("PUT", "/api/v2/vault/projects");
    expect("error" in na && na.error.code).toBe("method_not_allowed");
    expect("error" in na && na.error.headers).toEqual({ allow: "GET, POST" });
    expect("error" in set.match("GET", "/api/v2/vault/projects/%E0%A4%A")).toBe(true);
  });

  it("describes each capability with allowed per the held scopes", () => {
    expect(set.describe(["vault:read"]).map((c) => [c.id, c.allowed])).toEqual([
      ["vault.projects.list", true],
      ["vault.projects.create", false],
      ["vault.projects.get", true],
    ]);
  });
});

describe("pathForDetail", () => {
  it("never echoes a key or a JWT pasted into a path, and cuts long paths", () => {
    const key = "ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m";
    expect(pathForDetail(`/api/v2/keys/${key}`)).toBe("/api/v2/keys/[redacted]");
    expect(pathForDetail(`/x/${key}%E0%A4%A/y`)).toBe("/x/[redacted]%E0%A4%A/y");
    expect(pathForDetail("/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig")).toBe("/t/[redacted]");
    expect(pathForDetail("/api/v2/vault/projects")).toBe("/api/v2/vault/projects");
    // Found by the same shapes as everywhere: escaped, glued to an escape, a JWT whose header has white space.
    expect(pathForDetail(`/x/%61${key.slice(1)}`)).toBe("/x/[redacted]");
    expect(pathForDetail(`/x/${key}%30`)).toBe("/x/[redacted]0");
    const spaced = `${Buffer.from('{ "alg": "RS256" }').toString("base64url")}.e30.c2ln`;
    expect(spaced.startsWith("eyAi")).toBe(true);
    expect(pathForDetail(`/x/${spaced}`)).toBe("/x/[redacted]");
    expect(pathForDetail(`/x/a-${spaced}`)).toBe("/x/a-[redacted]");
    expect(pathForDetail("/x/ak_tower/eyJ.x")).toBe("/x/ak_tower/eyJ.x");
    expect(pathForDetail("/" + "a".repeat(300))).toBe(`/${"a".repeat(199)}…`);
    const api = defineCapabilities([defineCapability({ id: "a.b", method: "GET", path: "/a", cost: 1, idempotent: true })]);
    const m = api.match("GET", `/nope/${key}`);
    expect("error" in m && m.error.detail).toBe("No resource at /nope/[redacted].");
  });
});

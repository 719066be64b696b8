import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogue, isPolicyError, type PolicyError } from "../problems";
import { checkCredentialLocation, readBearer } from "./transport";
import type { PolicyRequest } from "./request";

const KEY = "ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m";
const req = (headers: string[], extra: Partial<PolicyRequest> = {}): PolicyRequest => ({ method: "GET", path: "/api/v2/me", headers, ...extra });

function code(v: unknown): string | undefined {
  return isPolicyError(v) ? v.code : undefined;
}

describe("readBearer", () => {
  it("accepts Bearer in any case", () => {
    expect(readBearer(req(["Authorization", `Bearer ${KEY}`]))).toEqual({ kind: "api_key", token: KEY });
    expect(readBearer(req(["authorization", `bearer ${KEY}`]))).toEqual({ kind: "api_key", token: KEY });
    expect(readBearer(req(["AUTHORIZATION", `BEARER ${KEY}`]))).toEqual({ kind: "api_key", token: KEY });
  });

  it("classifies three dot-separated parts as a JWT and anything else as opaque", () => {
    expect(readBearer(req(["Authorization", "Bearer aaa.bbb.ccc"]))).toEqual({ kind: "jwt", token: "aaa.bbb.ccc" });
    expect(readBearer(req(["Authorization", "Bearer aaa.bbb"]))).toEqual({ kind: "opaque", token: "aaa.bbb" });
    expect(readBearer(req(["Authorization", "Bearer ak_prod_x"]))).toEqual({ kind: "api_key", token: "ak_prod_x" });
  });

  it("answers missing_credentials with a challenge carrying no error attribute", () => {
    const e = readBearer(req(["Accept", "application/json"])) as PolicyError;
    expect(e.code).toBe("missing_credentials");
    expect(e.headers).toEqual({ "www-authenticate": 'Bearer realm="alloovium"' });
    expect(code(readBearer(req(["Authorization", ""])))).toBe("missing_credentials");
  });

  it("refuses two Authorization headers even when both are valid", () => {
    const e = readBearer(req(["Authorization", `Bearer ${KEY}`, "authorization", `Bearer ${KEY}`])) as PolicyError;
    expect(e.code).toBe("duplicate_credentials");
    expect(e.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_request"');
  });

  it.each([["Bearer"], [`Bearer  ${KEY}`], [`Bearer ${KEY} extra`], ["Bearer a,b"], [`Bearer\t${KEY}`], ["Bearer=x"]])(
    "answers malformed_authorization to %j",
    (value) => {
      const e = readBearer(req(["Authorization", value])) as PolicyError;
      expect(e.code).toBe("malformed_authorization");
      expect(e.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_request"');
    },
  );

  it.each([["Basic dXNlcjpwYXNz"], ["Token abc"], ["Digest username=x"]])("answers unsupported_auth_scheme to %j", (value) => {
    const e = readBearer(req(["Authorization", value])) as PolicyError;
    expect(e.code).toBe("unsupported_auth_scheme");
    expect(e.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium"');
  });
});

describe("checkCredentialLocation", () => {
  it("refuses a key in the query string even beside a valid header, without echoing it", () => {
    const e = checkCredentialLocation(req(["Authorization", `Bearer ${KEY}`], { query: `api_key=${KEY}` })) as PolicyError;
    expect(e.code).toBe("credential_location_not_allowed");
    expect(e.extensions).toEqual({ location: "query", parameter: "api_key" });
    expect(e.detail).toMatch(/revoke it/);
    expect(JSON.stringify(e)).not.toContain(KEY);
  });

  it("finds a key by its shape under any query name, and a JWT-shaped value", () => {
    expect((checkCredentialLocation(req([], { query: `q=${KEY}` })) as PolicyError).extensions).toMatchObject({ location: "query", parameter: "q" });
    expect(code(checkCredentialLocation(req([], { query: "x=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln" })))).toBe("credential_location_not_allowed");
    expect(checkCredentialLocation(req([], { query: "limit=10&cursor=eyJjcmVhdGVkX2F0IjoiMjAyNiJ9" }))).toBeNull();
  });

  it("refuses a key in a cookie, in the body and in another header", () => {
    expect((checkCredentialLocation(req(["Cookie", `session=abc; api_key=${KEY}`])) as PolicyError).extensions).toEqual({ location: "cookie", parameter: "api_key" });
    expect((checkCredentialLocation(req(["Cookie", `sid=${KEY}`])) as PolicyError).extensions).toEqual({ location: "cookie", parameter: "sid" });
    expect((checkCredentialLocation(req([], { cookies: { token: "x" } })) as PolicyError).extensions).toEqual({ location: "cookie", parameter: "token" });
    expect((checkCredentialLocation(req([], { body: { name: "x", api_key: KEY } })) as PolicyError).extensions).toEqual({ location: "body", parameter: "api_key" });
    expect((checkCredentialLocation(req([], { body: { note: KEY } })) as PolicyError).extensions).toEqual({ location: "body", parameter: "note" });
    expect((checkCredentialLocation(req(["X-API-Key", KEY])) as PolicyError).extensions).toEqual({ location: "header", parameter: "x-api-key" });
    expect((checkCredentialLocation(req(["X-Forwarded-Key", `Bearer ${KEY}`])) as PolicyError).extensions).toEqual({ location: "header", parameter: "x-forwarded-key" });
  });

  it("lets ordinary requests through", () => {
    expect(checkCredentialLocation(req(["Authorization", `Bearer ${KEY}`, "Cookie", "theme=dark", "Accept", "*/*"], { query: "limit=5", body: { name: "Tower", description: "ak" } }))).toBeNull();
    expect(checkCredentialLocation(req([], { body: [KEY] }))).toBeNull(); // only top-level object fields are read
  });

  it("uses configured names", () => {
    expect(checkCredentialLocation(req([], { query: "token=1" }), { credentialNames: [] })).toBeNull();
    expect(code(checkCredentialLocation(req(["X-Secret", "1"]), { credentialHeaders: ["x-secret"] }))).toBe("credential_location_not_allowed");
  });
});

describe("credential parsing under fuzzing", () => {
  const value = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: fc.constantFrom(" ", "\t", "\u0000", "\r", "\n", "\u007f", "=", ",", ";", '"', "a", "B", "_", ".") }),
    fc.constant("x".repeat(16 * 1024)),
    fc.string().map((s) => `Bearer ${s}`),
    fc.string().map((s) => `bearer ak_live_${s}`),
  );
  const headerList = fc.array(fc.tuple(fc.constantFrom("Authorization", "authorization", "Cookie", "X-Api-Key", "Accept", "Idempotency-Key"), value), { maxLength: 4 });

  it("always answers a credential or a catalogued problem, never a throw", () => {
    fc.assert(
      fc.property(headerList, fc.option(value, { nil: undefined }), fc.option(fc.jsonValue(), { nil: undefined }), (pairs, query, body) => {
        const r = req(pairs.flat(), { ...(query !== undefined ? { query } : {}), ...(body !== undefined ? { body } : {}) });
        const located = checkCredentialLocation(r);
        if (located) expect(catalogue[located.code]).toBeDefined();
        const bearer = readBearer(r);
        if (isPolicyError(bearer)) expect(catalogue[bearer.code].status).toBeGreaterThanOrEqual(400);
        else expect(bearer.token.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });
});

/**
 * The wire contract (shared/spec/v2-contract.md) as one suite over real sockets, defined once
 * and run per framework and per store variant (`contract.test.ts`, `redis.test.ts`).
 */
import { randomUUID } from "node:crypto";
import { catalogue, generateApiKey, type ProblemCode } from "@alloovium/core";
import { compareCursorOrder } from "@alloovium/core/store-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Framework } from "../../../src/server";
import { startApp, type App, type StoreVariant } from "./app";
import {
  BARE_CHALLENGE,
  INVALID_REQUEST_CHALLENGE,
  INVALID_TOKEN_CHALLENGE,
  ISO_OFFSET,
  UUID,
  expectNoRateLimitHeaders,
  expectProblem,
  show,
  tokenHeaders,
} from "./expect";
import { badInputSuite } from "./bad-input";
import type { Client, WireResponse } from "./http";
import { keyLifecycleSuite, keyManagementSuite, usageSuite } from "./key-management";
import { limitsSuite } from "./limits";
import { createIssuer, type Issuer } from "./oauth";
import { refusalsSuite } from "./refusals";
import { ALL_SCOPES, TENANT, USER, createFixture } from "./seed";

const ME = "/api/v2/me";
const PROJECTS = "/api/v2/vault/projects";
const CAPABILITIES = "/api/v2/capabilities";
const OAUTH_CLIENT = "client_9a8b7c6d";

/** The section 8 routes every capability listing must hold (method, path template, scopes). */
const SAMPLE_ROUTES: readonly [string, string, readonly string[]][] = [
  ["GET", "/api/v2/me", []],
  ["GET", "/api/v2/capabilities", []],
  ["GET", "/api/v2/vault/projects", ["vault:read"]],
  ["POST", "/api/v2/vault/projects", ["vault:write"]],
  ["GET", "/api/v2/vault/projects/{id}", ["vault:read"]],
  ["PATCH", "/api/v2/vault/projects/{id}", ["vault:write"]],
  ["DELETE", "/api/v2/vault/projects/{id}", ["vault:write"]],
  ["GET", "/api/v2/keys", ["keys:read"]],
  ["POST", "/api/v2/keys", ["keys:write"]],
  ["GET", "/api/v2/keys/{id}", ["keys:read"]],
  ["PATCH", "/api/v2/keys/{id}", ["keys:write"]],
  ["POST", "/api/v2/keys/{id}/revoke", ["keys:write"]],
  ["POST", "/api/v2/keys/{id}/roll", ["keys:write"]],
  ["GET", "/api/v2/usage", ["usage:read"]],
];

const uniqueName = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

/** Every project of the key's tenant, walking the pages (limit 100). */
export async function listAll(c: Client, key: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const res: WireResponse = await c.get(`${PROJECTS}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, key);
    expect(res.status, show(res)).toBe(200);
    out.push(...(res.body.data as Record<string, unknown>[]));
    if (!res.body.has_more) break;
    cursor = res.body.next_cursor as string;
  }
  return out;
}

function createProject(
  c: Client,
  key: string,
  body: Record<string, unknown>,
  headers: ReadonlyArray<readonly [string, string]> = [],
): Promise<WireResponse> {
  return c.send({ method: "POST", path: PROJECTS, key, json: body, headers });
}

/** Defines the whole contract for one framework on one store variant. Call inside a `describe`. */
export function contractSuite(framework: Framework, variant: StoreVariant): void {
  const fx = createFixture();
  const K = fx.keys;
  let app: App;
  let c: Client;
  let issuer: Issuer;

  beforeAll(async () => {
    issuer = await createIssuer({ sub: USER.alex, tenant_id: TENANT.acme, client_id: OAUTH_CLIENT, scope: "vault:write vault:read" });
    app = await startApp(framework, variant, fx, { environment: "live", oauth: { jwks: issuer.jwks, issuer: issuer.issuer } });
    c = app.client;
  });
  afterAll(async () => {
    await app?.close();
  });

  describe("credentials (section 1)", () => {
    it("answers 401 missing_credentials with a challenge without `error` when no credential is sent", async () => {
      const res = await c.get(ME);
      expectProblem(res, "missing_credentials");
      expect(res.headers["www-authenticate"]).toBe(BARE_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it.each(["bearer", "BEARER", "Bearer", "bEaReR"])("accepts the scheme name %s in any case", async (scheme) => {
      const res = await c.get(ME, undefined, [["Authorization", `${scheme} ${K.main}`]]);
      expect(res.status, show(res)).toBe(200);
      expect(res.body.api_key_id).toBe(fx.ids.main);
    });

    it.each([
      ["Basic", "Basic dXNlcjpwYXNzd29yZA=="],
      ["Token", `Token ${K.main}`],
      ["Digest", 'Digest username="alex"'],
    ])("answers 401 unsupported_auth_scheme for the %s scheme", async (_name, value) => {
      const res = await c.get(ME, undefined, [["Authorization", value]]);
      expectProblem(res, "unsupported_auth_scheme");
      expect(res.headers["www-authenticate"]).toBe(BARE_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it.each([
      ["a scheme with no credential", "Bearer"],
      ["two tokens", "Bearer a b"],
      ["two spaces before the key", `Bearer  ${K.main}`],
      ["a key followed by more text", `Bearer ${K.main} extra`],
      ["a token with a character outside b64token", 'Bearer ak_live_"quoted"'],
    ])("answers 400 malformed_authorization with error=\"invalid_request\" for %s", async (_name, value) => {
      const res = await c.get(ME, undefined, [["Authorization", value]]);
      expectProblem(res, "malformed_authorization");
      expect(res.headers["www-authenticate"]).toBe(INVALID_REQUEST_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it("answers 400 duplicate_credentials for two Authorization headers, even when both hold the same valid key", async () => {
      const same = await c.get(ME, undefined, [
        ["Authorization", `Bearer ${K.main}`],
        ["Authorization", `Bearer ${K.main}`],
      ]);
      expectProblem(same, "duplicate_credentials");
      expect(same.headers["www-authenticate"]).toBe(INVALID_REQUEST_CHALLENGE);
      const different = await c.get(ME, undefined, [
        ["Authorization", `Bearer ${K.main}`],
        ["authorization", `Bearer ${K.test}`],
      ]);
      expectProblem(different, "duplicate_credentials");
    });

    it.each(["api_key", "access_token", "key"])(
      "refuses a key in the query string (?%s=) with location \"query\" even beside a valid Authorization header",
      async (param) => {
        const res = await c.get(`${ME}?${param}=${K.main}`, K.main);
        expectProblem(res, "credential_location_not_allowed", { location: "query" });
        expect(res.body.detail).toMatch(/revoke/i);
      },
    );

    it("refuses a key in the query string with no Authorization header as credential_location_not_allowed", async () => {
      const res = await c.get(`${PROJECTS}?limit=10&api_key=${K.main}`);
      expectProblem(res, "credential_location_not_allowed", { location: "query" });
    });

    it("refuses a key in a cookie with location \"cookie\"", async () => {
      const withHeader = await c.get(ME, K.main, [["Cookie", `session=abc; api_key=${K.main}`]]);
      expectProblem(withHeader, "credential_location_not_allowed", { location: "cookie" });
      const alone = await c.get(ME, undefined, [["Cookie", `alloovium=${K.main}`]]);
      expectProblem(alone, "credential_location_not_allowed", { location: "cookie" });
    });

    it("refuses a key in the JSON body with location \"body\", not missing_credentials, when no Authorization header is sent", async () => {
      const name = uniqueName("body-key");
      const res = await c.send({ method: "POST", path: PROJECTS, json: { name, project_type: "commercial", api_key: K.vault } });
      expectProblem(res, "credential_location_not_allowed", { location: "body" });
      const beside = await createProject(c, K.vault, { name, project_type: "commercial", token: K.vault });
      expectProblem(beside, "credential_location_not_allowed", { location: "body" });
      expect((await listAll(c, K.vault)).some((p) => p.name === name)).toBe(false);
    });

    // On Bun and Deno the GET body is refused unread, with the same code and location.
    it("refuses a key in the JSON body of a GET, with or without a valid Authorization header", async () => {
      const body = JSON.stringify({ api_key: K.main });
      const headers = [["Content-Type", "application/json"]] as const;
      const alone = await c.send({ method: "GET", path: ME, headers, body });
      expectProblem(alone, "credential_location_not_allowed", { location: "body" });
      const beside = await c.send({ method: "GET", path: ME, key: K.main, headers, body });
      expectProblem(beside, "credential_location_not_allowed", { location: "body" });
    });

    it("refuses a key in a form-encoded body as credential_location_not_allowed (checked before the media type)", async () => {
      const res = await c.send({
        method: "POST", path: PROJECTS, key: K.vault,
        headers: [["Content-Type", "application/x-www-form-urlencoded"]],
        body: `name=Tower&project_type=commercial&api_key=${K.vault}`,
      });
      expectProblem(res, "credential_location_not_allowed", { location: "body" });
    });

    it("refuses a key in a form-encoded body on a GET as credential_location_not_allowed", async () => {
      const res = await c.send({
        method: "GET", path: ME, key: K.main,
        headers: [["Content-Type", "application/x-www-form-urlencoded"]],
        body: `api_key=${K.main}`,
      });
      expectProblem(res, "credential_location_not_allowed", { location: "body" });
    });

    it("checks the credential location before answering 413 or 415", async () => {
      const text = await c.send({
        method: "POST", path: `${PROJECTS}?api_key=${K.vault}`, key: K.vault, headers: [["Content-Type", "text/plain"]], body: "name=Tower",
      });
      expectProblem(text, "credential_location_not_allowed", { location: "query" });
      const big = await c.send({
        method: "POST", path: PROJECTS, key: K.vault, headers: [["X-API-Key", K.vault]],
        json: { name: "big", project_type: "commercial", description: "a".repeat(1024 * 1024 + 1024) },
      });
      expectProblem(big, "credential_location_not_allowed", { location: "header" });
      const repeated = await c.send({
        method: "POST", path: PROJECTS, key: K.vault,
        headers: [["Content-Type", "application/x-www-form-urlencoded"]],
        body: `name=Tower&name=${K.vault}`,
      });
      expectProblem(repeated, "credential_location_not_allowed", { location: "body", parameter: "name" });
      const clean = await c.send({
        method: "POST", path: PROJECTS, key: K.vault,
        headers: [["Content-Type", "application/x-www-form-urlencoded"]],
        body: "name=Tower&project_type=commercial",
      });
      expectProblem(clean, "unsupported_media_type");
    });

    it.each([
      ["an unknown path", "GET", "/api/v2/nope"],
      ["a wrong method (405)", "PUT", ME],
      ["a path that does not decode", "GET", `${PROJECTS}/%E0%A4%A`],
    ])("refuses a key in the query of %s before answering 404 or 405", async (_name, method, path) => {
      const beside = await c.send({ method, path: `${path}?api_key=${K.main}`, key: K.main });
      expectProblem(beside, "credential_location_not_allowed", { location: "query" });
      expect(beside.headers["www-authenticate"]).toBe(INVALID_REQUEST_CHALLENGE);
      const alone = await c.send({ method, path: `${path}?q=${K.main}` });
      expectProblem(alone, "credential_location_not_allowed", { location: "query" });
    });

    it("refuses a key in a cookie or another header of an unknown path or a wrong method", async () => {
      expectProblem(await c.get("/api/v2/nope", undefined, [["Cookie", `api_key=${K.main}`]]), "credential_location_not_allowed", { location: "cookie" });
      expectProblem(await c.send({ method: "DELETE", path: ME, headers: [["X-API-Key", K.main]] }), "credential_location_not_allowed", { location: "header" });
    });

    it("refuses a key-shaped value under any query parameter name", async () => {
      const res = await c.get(`${ME}?q=${K.main}`, K.main);
      expectProblem(res, "credential_location_not_allowed", { location: "query" });
    });

    it("challenges a misplaced credential with error=\"invalid_request\"", async () => {
      const res = await c.get(`${ME}?api_key=${K.main}`);
      expectProblem(res, "credential_location_not_allowed");
      expect(res.headers["www-authenticate"]).toBe(INVALID_REQUEST_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it.each(["X-API-Key", "Api-Key", "X-Auth-Token"])("refuses a key in the %s header with location \"header\"", async (header) => {
      const beside = await c.get(ME, K.main, [[header, K.main]]);
      expectProblem(beside, "credential_location_not_allowed", { location: "header" });
      const alone = await c.get(ME, undefined, [[header, K.main]]);
      expectProblem(alone, "credential_location_not_allowed", { location: "header" });
    });

    const flip = (ch: string) => (ch === "a" ? "b" : "a");
    it.each([
      ["a bad checksum", () => K.main.slice(0, -1) + flip(K.main.slice(-1))],
      ["an unknown environment (ak_prod_)", () => `ak_prod_${K.main.slice(8)}`],
      ["one character too many", () => `${K.main}a`],
      ["one character too few", () => K.main.slice(0, -1)],
      ["a body character outside base62", () => `${K.main.slice(0, 10)}-${K.main.slice(11)}`],
      ["a test body relabelled live", () => `ak_live_${K.test.slice(8)}`],
    ])("answers 401 invalid_api_key with error=\"invalid_token\" for %s", async (_name, make) => {
      const res = await c.get(ME, make());
      expectProblem(res, "invalid_api_key");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it("answers 401 invalid_api_key for a well-formed key it never issued", async () => {
      for (const env of ["live", "test"] as const) {
        const res = await c.get(ME, generateApiKey(env));
        expectProblem(res, "invalid_api_key");
        expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
      }
    });

    it("answers 401 api_key_revoked for a revoked key", async () => {
      const res = await c.get(ME, K.revoked);
      expectProblem(res, "api_key_revoked");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
    });

    it("answers 401 api_key_expired for an expired key", async () => {
      const res = await c.get(ME, K.expired);
      expectProblem(res, "api_key_expired");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
    });

    it("answers 401 invalid_token for a bearer credential that is neither a key nor a JWT", async () => {
      const res = await c.get(ME, "opaque-token-123");
      expectProblem(res, "invalid_token");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
    });
  });

  describe("GET /api/v2/me (principal)", () => {
    it("returns exactly the API-key principal, scopes sorted", async () => {
      const res = await c.get(ME, K.main);
      expect(res.status, show(res)).toBe(200);
      expect(res.mediaType).toBe("application/json");
      expect(res.body).toStrictEqual({
        user_id: USER.alex,
        tenant_id: TENANT.acme,
        auth_method: "api_key",
        email: "alex@example.com",
        api_key_id: fx.ids.main,
        api_key_name: "Production Backend",
        api_key_prefix: K.main.slice(0, 12),
        environment: "live",
        rate_limit_tier: "standard",
        scopes: [...ALL_SCOPES].sort(),
      });
    });

    it("returns email null for a user without one, and an empty scope list", async () => {
      const res = await c.get(ME, K.noEmail);
      expect(res.status, show(res)).toBe(200);
      expect(res.body).toStrictEqual({
        user_id: USER.noEmail,
        tenant_id: TENANT.acme,
        auth_method: "api_key",
        email: null,
        api_key_id: fx.ids.noEmail,
        api_key_name: "No email",
        api_key_prefix: K.noEmail.slice(0, 12),
        environment: "test",
        rate_limit_tier: "pro",
        scopes: [],
      });
    });
  });

  describe("OAuth access tokens (section 1)", () => {
    it("returns exactly the OAuth principal for a valid RS256 at+jwt, scopes sorted", async () => {
      const res = await c.get(ME, await issuer.mint());
      expect(res.status, show(res)).toBe(200);
      expect(res.body).toStrictEqual({
        user_id: USER.alex,
        tenant_id: TENANT.acme,
        auth_method: "oauth",
        client_id: OAUTH_CLIENT,
        scopes: ["vault:read", "vault:write"],
      });
      // OAuth clients get the standard bucket.
      const t = tokenHeaders(res);
      expect([t.q, t.w]).toEqual([600, 60]);
    });

    it("answers 401 token_expired for an expired token", async () => {
      const now = Math.floor(Date.now() / 1000);
      const res = await c.get(ME, await issuer.mint({ iat: now - 7200, exp: now - 3600 }));
      expectProblem(res, "token_expired");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it.each([
      ["the wrong audience", () => issuer.mint({ aud: "https://api.other.example" })],
      ["the wrong issuer", () => issuer.mint({ iss: "https://evil.example" })],
      ["alg none", async () => issuer.mintNone()],
      ["HS256 signed with the RSA public key as secret", () => issuer.mintHs256WithPublicKey()],
      ["no typ header", () => issuer.mint({}, { typ: undefined })],
      ["typ JWT instead of at+jwt", () => issuer.mint({}, { typ: "JWT" })],
      ["nbf an hour from now", () => issuer.mint({ nbf: Math.floor(Date.now() / 1000) + 3600 })],
      ["no tenant_id claim", () => issuer.mint({ tenant_id: undefined })],
      ["a signature from another key", async () => {
        const other = await createIssuer({ sub: USER.alex, tenant_id: TENANT.acme, client_id: OAUTH_CLIENT, scope: "vault:read" });
        return other.mint();
      }],
    ])("answers 401 invalid_token for a token with %s", async (_name, make) => {
      const res = await c.get(ME, await make());
      expectProblem(res, "invalid_token");
      expect(res.headers["www-authenticate"]).toBe(INVALID_TOKEN_CHALLENGE);
      expectNoRateLimitHeaders(res);
    });

    it("names the OAuth token in the insufficient_scope detail", async () => {
      const token = await issuer.mint({ scope: "vault:read" });
      const res = await createProject(c, token, { name: uniqueName("oauth"), project_type: "commercial" });
      expectProblem(res, "insufficient_scope", { missing_scopes: ["vault:write"] });
      expect(res.body.detail).toBe("OAuth token is missing required scope: vault:write");
    });
  });

  describe("scopes (section 2)", () => {
    it("answers 403 insufficient_scope with the seed's exact body and challenge when a read-only key creates a project", async () => {
      const res = await createProject(c, K.readOnly, { name: uniqueName("ro"), project_type: "commercial" });
      expect(res.status, show(res)).toBe(403);
      expect(res.mediaType).toBe("application/problem+json");
      expect(res.body).toStrictEqual({
        type: "https://api.alloovium.com/errors/insufficient_scope",
        title: "Insufficient scope",
        status: 403,
        detail: "API key is missing required scope: vault:write",
        code: "insufficient_scope",
        missing_scopes: ["vault:write"],
      });
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"');
    });

    it("lets a read-only key list projects", async () => {
      const res = await c.get(PROJECTS, K.readOnly);
      expect(res.status, show(res)).toBe(200);
    });

    it("names vault:read when a key without vault scopes lists projects", async () => {
      const res = await c.get(PROJECTS, K.noEmail);
      expectProblem(res, "insufficient_scope", { missing_scopes: ["vault:read"] }, true);
      expect(res.body.detail).toBe("API key is missing required scope: vault:read");
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="vault:read"');
    });
  });

  describe("GET /api/v2/capabilities (section 3)", () => {
    async function listing(key: string): Promise<Record<string, unknown>[]> {
      const res = await c.get(CAPABILITIES, key);
      expect(res.status, show(res)).toBe(200);
      expect(Object.keys(res.body)).toEqual(["data"]);
      return res.body.data as Record<string, unknown>[];
    }

    it("lists every capability with exactly id, method, path, scopes, cost, idempotent, allowed", async () => {
      const data = await listing(K.main);
      for (const cap of data) {
        expect(Object.keys(cap).sort()).toEqual(["allowed", "cost", "id", "idempotent", "method", "path", "scopes"]);
        expect(cap.id).toMatch(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/);
        expect(Number.isInteger(cap.cost) && (cap.cost as number) >= 0).toBe(true);
        expect(typeof cap.idempotent).toBe("boolean");
        expect(cap.scopes).toEqual([...(cap.scopes as string[])].sort());
      }
      expect(new Set(data.map((d) => d.id)).size).toBe(data.length);
      for (const [method, path, scopes] of SAMPLE_ROUTES) {
        const cap = data.find((d) => d.method === method && d.path === path);
        expect(cap, `${method} ${path} is listed`).toBeDefined();
        expect(cap!.scopes).toEqual(scopes);
      }
      expect(data.find((d) => d.id === "meta.whoami")).toStrictEqual({
        id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true, allowed: true,
      });
    });

    it.each([
      ["an every-scope key", "main", ALL_SCOPES],
      ["a read-only key", "readOnly", ["vault:read"]],
      ["a key without scopes", "noEmail", []],
    ] as const)("marks `allowed` by the scopes of %s", async (_name, keyName, held) => {
      const data = await listing(K[keyName]);
      for (const cap of data) {
        const expected = (cap.scopes as string[]).every((s) => (held as readonly string[]).includes(s));
        expect(cap.allowed, `${cap.id}`).toBe(expected);
      }
      const post = data.find((d) => d.method === "POST" && d.path === PROJECTS)!;
      expect(post.allowed).toBe(keyName === "main");
    });
  });

  describe("environments (section 1)", () => {
    let testApp: App;
    beforeAll(async () => {
      testApp = await startApp(framework, variant, fx, { environment: "test" });
    });
    afterAll(async () => {
      await testApp?.close();
    });

    it("rejects a live key on a test deployment with 403 environment_mismatch", async () => {
      const res = await testApp.client.get(ME, K.main);
      expectProblem(res, "environment_mismatch");
      // RFC 6750: `invalid_token` belongs to 401; this 403 carries no `error` attribute.
      expect(res.headers["www-authenticate"]).toBe(BARE_CHALLENGE);
    });

    it("checks the environment before scopes: a live read-only key creating on a test deployment is environment_mismatch", async () => {
      const res = await createProject(testApp.client, K.readOnly, { name: uniqueName("env"), project_type: "commercial" });
      expectProblem(res, "environment_mismatch");
    });

    it("accepts a test key on a test deployment", async () => {
      const res = await testApp.client.get(ME, K.test);
      expect(res.status, show(res)).toBe(200);
      expect(res.body.environment).toBe("test");
    });

    it("accepts a test key on a live deployment", async () => {
      const res = await c.get(ME, K.test);
      expect(res.status, show(res)).toBe(200);
      expect(res.body.environment).toBe("test");
      expect(res.body.api_key_id).toBe(fx.ids.test);
    });

    it("never echoes a raw key on the test deployment", () => {
      expectNoSecrets(testApp, fx.secrets);
    });
  });

  describe("vault projects (section 8)", () => {
    it("creates a project: 201, Location of the new project, the project's fields", async () => {
      const name = uniqueName("tower");
      const res = await createProject(c, K.vault, { name, project_type: "commercial", description: "Mixed-use high-rise." });
      expect(res.status, show(res)).toBe(201);
      expect(res.mediaType).toBe("application/json");
      expect(res.body).toStrictEqual({
        id: expect.stringMatching(UUID),
        name,
        description: "Mixed-use high-rise.",
        project_type: "commercial",
        status: "active",
        created_at: expect.stringMatching(ISO_OFFSET),
      });
      expect(res.headers.location).toMatch(new RegExp(`(^|/)api/v2/vault/projects/${res.body.id}$`));
      const got = await c.get(`${PROJECTS}/${res.body.id}`, K.vault);
      expect(got.status, show(got)).toBe(200);
      expect(got.body).toStrictEqual(res.body);
    });

    it("updates and deletes a project", async () => {
      const created = await createProject(c, K.vault, { name: uniqueName("p"), project_type: "residential" });
      expect(created.status, show(created)).toBe(201);
      const path = `${PROJECTS}/${created.body.id}`;
      const patched = await c.send({ method: "PATCH", path, key: K.vault, json: { name: "Renamed", status: "archived" } });
      expect(patched.status, show(patched)).toBe(200);
      expect(patched.body).toMatchObject({ id: created.body.id, name: "Renamed", status: "archived", project_type: "residential" });
      const deleted = await c.send({ method: "DELETE", path, key: K.vault });
      expect([200, 204], show(deleted)).toContain(deleted.status);
      expectProblem(await c.get(path, K.vault), "not_found");
    });

    it("answers 404 not_found for a project that does not exist", async () => {
      expectProblem(await c.get(`${PROJECTS}/${randomUUID()}`, K.vault), "not_found");
    });

    it("never echoes nor logs a key pasted into a path, matched or not, decodable or not", async () => {
      for (const path of [`/api/v2/keys/${K.vault}`, `/api/v2/keys/${K.vault}%E0%A4%A`, `/nowhere/${K.vault}`, `/nowhere/${K.vault}%E0%A4%A`]) {
        const res = await c.get(path, K.keys);
        expect([400, 404], show(res)).toContain(res.status);
        expect(res.text.includes(K.vault), path).toBe(false);
      }
      // The suite's last checks (expectNoSecrets) read every answer and log line for seed keys.
    });
  });

  describe("tenant isolation (section 8)", () => {
    let id: string;
    let name: string;
    beforeAll(async () => {
      name = uniqueName("acme-secret");
      const res = await createProject(c, K.vault, { name, project_type: "industrial" });
      expect(res.status, show(res)).toBe(201);
      id = res.body.id as string;
    });

    it("answers 404 not_found when another tenant reads, updates or deletes the project", async () => {
      const path = `${PROJECTS}/${id}`;
      expectProblem(await c.get(path, K.other), "not_found");
      expectProblem(await c.send({ method: "PATCH", path, key: K.other, json: { name: "pwned" } }), "not_found");
      expectProblem(await c.send({ method: "DELETE", path, key: K.other }), "not_found");
      const still = await c.get(path, K.vault);
      expect(still.status, show(still)).toBe(200);
      expect(still.body.name).toBe(name);
    });

    it("never lists the project to another tenant", async () => {
      const theirs = await listAll(c, K.other);
      expect(theirs.some((p) => p.id === id || p.name === name)).toBe(false);
      const ours = await listAll(c, K.vault);
      expect(ours.some((p) => p.id === id)).toBe(true);
    });
  });

  describe("pagination (section 7)", () => {
    const created: string[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 25; i++) {
        const res = await createProject(c, K.pages, { name: `page-${String(i).padStart(2, "0")}`, project_type: "infrastructure" });
        expect(res.status, show(res)).toBe(201);
        created.push(res.body.id as string);
      }
    });

    it("walks 25 projects with limit=10 as 10, 10, 5, newest first, without duplicates", async () => {
      const pages: WireResponse[] = [];
      let cursor: string | null = null;
      do {
        const res: WireResponse = await c.get(`${PROJECTS}?limit=10${cursor ? `&cursor=${cursor}` : ""}`, K.pages);
        expect(res.status, show(res)).toBe(200);
        expect(Object.keys(res.body).sort()).toEqual(["data", "has_more", "next_cursor"]);
        pages.push(res);
        cursor = res.body.next_cursor as string | null;
      } while (cursor !== null && pages.length < 5);
      expect(pages.map((p) => p.body.data.length)).toEqual([10, 10, 5]);
      expect(pages.map((p) => p.body.has_more)).toEqual([true, true, false]);
      expect(typeof pages[0]!.body.next_cursor).toBe("string");
      expect(pages[2]!.body.next_cursor).toBeNull();
      const items = pages.flatMap((p) => p.body.data as { id: string; created_at: string }[]);
      expect(new Set(items.map((i) => i.id)).size).toBe(25);
      expect(new Set(items.map((i) => i.id))).toEqual(new Set(created));
      for (let i = 1; i < items.length; i++) expect(compareCursorOrder(items[i - 1]!, items[i]!)).toBeLessThan(0);
      // The newest project comes first (created_at, then id, descending).
      expect(items[0]!.id).toBe(
        [...items].sort((a, b) => compareCursorOrder(a, b))[0]!.id,
      );
    });

    it("encodes next_cursor as base64url of {created_at, id} of the last item", async () => {
      const res = await c.get(`${PROJECTS}?limit=3`, K.pages);
      const last = res.body.data[2];
      expect(res.body.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(JSON.parse(Buffer.from(res.body.next_cursor, "base64url").toString("utf8"))).toStrictEqual({
        created_at: last.created_at,
        id: last.id,
      });
    });

    it("accepts another limit with the next cursor", async () => {
      const first = await c.get(`${PROJECTS}?limit=10`, K.pages);
      const rest = await c.get(`${PROJECTS}?limit=20&cursor=${first.body.next_cursor}`, K.pages);
      expect(rest.status, show(rest)).toBe(200);
      expect(rest.body.data.length).toBe(15);
      expect(rest.body.has_more).toBe(false);
      expect(rest.body.next_cursor).toBeNull();
    });

    it("defaults to limit 10 and serves 100 at most", async () => {
      const dflt = await c.get(PROJECTS, K.pages);
      expect(dflt.body.data.length).toBe(10);
      expect(dflt.body.has_more).toBe(true);
      const all = await c.get(`${PROJECTS}?limit=100`, K.pages);
      expect(all.body.data.length).toBe(25);
      expect(all.body.has_more).toBe(false);
      expect(all.body.next_cursor).toBeNull();
    });

    it.each(["0", "101", "abc", "-1", "1.5", ""])("answers 400 invalid_parameter with param \"limit\" for limit=%s", async (limit) => {
      const res = await c.get(`${PROJECTS}?limit=${limit}`, K.pages);
      expectProblem(res, "invalid_parameter", { param: "limit" });
    });

    it("answers 400 invalid_cursor for a tampered or foreign cursor", async () => {
      const first = await c.get(`${PROJECTS}?limit=5`, K.pages);
      const cursor = first.body.next_cursor as string;
      const bad = [
        cursor.slice(0, Math.floor(cursor.length / 2)),
        `${cursor}!`,
        "not-a-cursor",
        Buffer.from('{"created_at":"yesterday","id":"x"}').toString("base64url"),
        Buffer.from('{"id":"x"}').toString("base64url"),
      ];
      for (const tampered of bad) {
        const res = await c.get(`${PROJECTS}?limit=5&cursor=${encodeURIComponent(tampered)}`, K.pages);
        expectProblem(res, "invalid_cursor");
      }
    });

    it("keeps later pages stable while projects are created", async () => {
      const first = await c.get(`${PROJECTS}?limit=10`, K.pages);
      // created_at may have whole-second precision: make the new project strictly newer.
      await new Promise((r) => setTimeout(r, 1100));
      const fresh = await createProject(c, K.pages, { name: "page-new", project_type: "mixed_use" });
      expect(fresh.status, show(fresh)).toBe(201);
      const seen = [...(first.body.data as { id: string }[])];
      let cursor = first.body.next_cursor as string | null;
      while (cursor) {
        const res = await c.get(`${PROJECTS}?limit=10&cursor=${cursor}`, K.pages);
        seen.push(...(res.body.data as { id: string }[]));
        cursor = res.body.next_cursor as string | null;
      }
      expect(seen.map((s) => s.id).sort()).toEqual([...created].sort());
    });
  });

  describe("idempotency (section 5)", () => {
    async function named(name: string) {
      return (await listAll(c, K.idem)).filter((p) => p.name === name);
    }

    it("replays the first answer (status, body, Location) with Idempotent-Replayed: true and creates one project", async () => {
      const name = uniqueName("idem");
      const key = `create-${randomUUID()}`;
      const first = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", key]]);
      expect(first.status, show(first)).toBe(201);
      expect(first.headers["idempotent-replayed"]).toBeUndefined();
      const second = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", key]]);
      expect(second.status, show(second)).toBe(201);
      expect(second.text).toBe(first.text);
      expect(second.headers.location).toBe(first.headers.location);
      expect(second.headers["content-type"]).toBe(first.headers["content-type"]);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      tokenHeaders(second);
      expect(await named(name)).toHaveLength(1);
    });

    it("fingerprints canonical JSON: key order and white space do not matter", async () => {
      const name = uniqueName("canon");
      const key = `canon-${randomUUID()}`;
      const first = await c.send({
        method: "POST", path: PROJECTS, key: K.idem, headers: [["Idempotency-Key", key]],
        json: { name, project_type: "commercial", description: "d" },
      });
      expect(first.status, show(first)).toBe(201);
      const second = await c.send({
        method: "POST", path: PROJECTS, key: K.idem,
        headers: [["Idempotency-Key", key], ["Content-Type", "application/json"]],
        body: `{ "description" : "d",\n  "project_type": "commercial", "name": ${JSON.stringify(name)} }`,
      });
      expect(second.status, show(second)).toBe(201);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      expect(second.text).toBe(first.text);
    });

    it("answers 422 idempotency_key_reused for the same key with another body", async () => {
      const key = `reuse-${randomUUID()}`;
      const first = await createProject(c, K.idem, { name: uniqueName("a"), project_type: "commercial" }, [["Idempotency-Key", key]]);
      expect(first.status, show(first)).toBe(201);
      const other = uniqueName("b");
      const res = await createProject(c, K.idem, { name: other, project_type: "commercial" }, [["Idempotency-Key", key]]);
      expectProblem(res, "idempotency_key_reused");
      expect(await named(other)).toHaveLength(0);
    });

    it("creates exactly one project from 20 concurrent identical requests; the others replay or get 409 with Retry-After: 1", async () => {
      const name = uniqueName("race");
      const key = `race-${randomUUID()}`;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", key]])),
      );
      const created = answers.filter((a) => a.status === 201);
      const inUse = answers.filter((a) => a.status === 409);
      expect(created.length + inUse.length, answers.map(show).join("\n")).toBe(20);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((a) => a.text)).size).toBe(1);
      expect(created.filter((a) => a.headers["idempotent-replayed"] === undefined)).toHaveLength(1);
      for (const a of inUse) {
        expectProblem(a, "idempotency_key_in_use");
        expect(a.headers["retry-after"]).toBe("1");
      }
      expect(await named(name)).toHaveLength(1);
      const retry = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", key]]);
      expect(retry.status, show(retry)).toBe(201);
      expect(retry.headers["idempotent-replayed"]).toBe("true");
      expect(retry.text).toBe(created[0]!.text);
    });

    it.each([
      ["256 characters", "k".repeat(256)],
      ["300 characters", "x".repeat(300)],
      ["a control character (tab)", "abc\tdef"],
      ["a space inside", "abc def"],
      ["a non-ASCII character", "clé-1"],
      ["an empty quoted string", '""'],
      ["an unterminated quoted string", '"abc'],
    ])("answers 400 invalid_idempotency_key for a key with %s and runs nothing", async (_name, value) => {
      const name = uniqueName("badkey");
      const res = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", value]]);
      expectProblem(res, "invalid_idempotency_key");
      expect(await named(name)).toHaveLength(0);
    });

    it("accepts a 255-character key", async () => {
      const res = await createProject(c, K.idem, { name: uniqueName("long"), project_type: "commercial" }, [["Idempotency-Key", "k".repeat(254) + randomUUID().slice(0, 1)]]);
      expect(res.status, show(res)).toBe(201);
    });

    it("treats the RFC 8941 quoted form \"abc\" and the bare form abc as the same key", async () => {
      const name = uniqueName("quoted");
      const key = `q-${randomUUID()}`;
      const quoted = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", `"${key}"`]]);
      expect(quoted.status, show(quoted)).toBe(201);
      const bare = await createProject(c, K.idem, { name, project_type: "commercial" }, [["Idempotency-Key", key]]);
      expect(bare.status, show(bare)).toBe(201);
      expect(bare.headers["idempotent-replayed"]).toBe("true");
      expect(bare.text).toBe(quoted.text);
      expect(await named(name)).toHaveLength(1);
    });

    it("scopes keys to the principal: another tenant's identical request is not a replay", async () => {
      const key = `shared-${randomUUID()}`;
      const body = { name: uniqueName("scoped"), project_type: "commercial" };
      const ours = await createProject(c, K.idem, body, [["Idempotency-Key", key]]);
      const theirs = await createProject(c, K.other, body, [["Idempotency-Key", key]]);
      expect(ours.status, show(ours)).toBe(201);
      expect(theirs.status, show(theirs)).toBe(201);
      expect(theirs.headers["idempotent-replayed"]).toBeUndefined();
      expect(theirs.body.id).not.toBe(ours.body.id);
    });

    it("scopes keys to the environment: the same user's test key is not replayed the live key's answer", async () => {
      const key = `env-${randomUUID()}`;
      const body = { name: uniqueName("env-scoped"), project_type: "commercial" };
      const live = await createProject(c, K.idem, body, [["Idempotency-Key", key]]);
      const test = await createProject(c, K.test, body, [["Idempotency-Key", key]]);
      expect(live.status, show(live)).toBe(201);
      expect(test.status, show(test)).toBe(201);
      expect(test.headers["idempotent-replayed"]).toBeUndefined();
      expect(test.body.id).not.toBe(live.body.id);
    });

    it("does not store a rejection made before the handler: after a 403, the same user's next request with the key runs", async () => {
      // Both keys belong to the same user, tenant and environment: one idempotency namespace.
      const key = `refused-${randomUUID()}`;
      const body = { name: uniqueName("refused"), project_type: "commercial" };
      const refused = await createProject(c, K.readOnly, body, [["Idempotency-Key", key]]);
      expectProblem(refused, "insufficient_scope");
      const runs = await createProject(c, K.idem, body, [["Idempotency-Key", key]]);
      expect(runs.status, show(runs)).toBe(201);
      expect(runs.headers["idempotent-replayed"]).toBeUndefined();
      expect(await named(body.name)).toHaveLength(1);
    });

    it("stores the handler's 422 and replays it", async () => {
      const key = `invalid-${randomUUID()}`;
      const first = await createProject(c, K.idem, { project_type: "commercial" }, [["Idempotency-Key", key]]);
      expectProblem(first, "validation_failed");
      const again = await createProject(c, K.idem, { project_type: "commercial" }, [["Idempotency-Key", key]]);
      expectProblem(again, "validation_failed");
      expect(again.headers["idempotent-replayed"]).toBe("true");
      expect(again.text).toBe(first.text);
    });

    it("honours the key on PATCH", async () => {
      const created = await createProject(c, K.idem, { name: uniqueName("patch"), project_type: "commercial" });
      const path = `${PROJECTS}/${created.body.id}`;
      const key = `patch-${randomUUID()}`;
      const first = await c.send({ method: "PATCH", path, key: K.idem, json: { name: "Once" }, headers: [["Idempotency-Key", key]] });
      expect(first.status, show(first)).toBe(200);
      const second = await c.send({ method: "PATCH", path, key: K.idem, json: { name: "Once" }, headers: [["Idempotency-Key", key]] });
      expect(second.status, show(second)).toBe(200);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      expect(second.text).toBe(first.text);
    });

    it("ignores Idempotency-Key on GET, even a malformed one", async () => {
      const res = await c.get(PROJECTS, K.idem, [["Idempotency-Key", "x".repeat(300)]]);
      expect(res.status, show(res)).toBe(200);
      expect(res.headers["idempotent-replayed"]).toBeUndefined();
    });
  });

  describe("rate limits (section 4)", () => {
    it("puts RateLimit-Policy and RateLimit on every authenticated answer, success or not", async () => {
      const answers = [
        await c.get(ME, K.main),
        await c.get(CAPABILITIES, K.main),
        await createProject(c, K.readOnly, { name: "x", project_type: "commercial" }), // 403
        await c.get(`${PROJECTS}/${randomUUID()}`, K.vault), // 404 from the handler
        await createProject(c, K.vault, { project_type: "commercial" }), // 422 from the handler
        await c.get(`${PROJECTS}?limit=0`, K.vault), // 400 from the handler
      ];
      for (const res of answers) {
        const t = tokenHeaders(res);
        expect(t.r).toBeLessThanOrEqual(t.q);
      }
      const standard = tokenHeaders(answers[0]!);
      expect([standard.q, standard.w]).toEqual([600, 60]);
      const pro = tokenHeaders(answers[3]!);
      expect([pro.q, pro.w]).toEqual([3000, 60]);
    });

    it("writes the free tier's policy as \"tokens\";q=60;w=60", async () => {
      const res = await c.get(ME, K.freeMeter);
      expect(res.status, show(res)).toBe(200);
      const t = tokenHeaders(res);
      expect([t.q, t.w]).toEqual([60, 60]);
      expect(t.r).toBeLessThanOrEqual(59);
    });

    it("puts no RateLimit header on unauthenticated answers", async () => {
      expectNoRateLimitHeaders(await c.get(ME));
      expectNoRateLimitHeaders(await c.get(ME, undefined, [["Authorization", "Basic eDp5"]]));
      expectNoRateLimitHeaders(await c.get(ME, generateApiKey("live")));
      expectNoRateLimitHeaders(await c.get("/healthz"));
      expectNoRateLimitHeaders(await c.get(`${ME}?api_key=${K.freeMeter}`, K.freeMeter));
    });

    it("takes nothing for /healthz or for a request refused before the bucket", async () => {
      const before = tokenHeaders(await c.get(ME, K.freeMeter)).r;
      for (let i = 0; i < 15; i++) {
        const res = await c.get("/healthz", K.freeMeter);
        expect(res.status, show(res)).toBe(200);
      }
      const afterHealth = tokenHeaders(await c.get(ME, K.freeMeter)).r;
      // The /me call itself costs 1; refill can only add.
      expect(afterHealth).toBeGreaterThanOrEqual(before - 1);
      for (let i = 0; i < 10; i++) {
        const res = await createProject(c, K.freeMeter, { name: "x", project_type: "commercial" });
        expectProblem(res, "insufficient_scope");
      }
      const afterRefused = tokenHeaders(await c.get(ME, K.freeMeter)).r;
      expect(afterRefused).toBeGreaterThanOrEqual(afterHealth - 1);
    });

    it("answers 429 rate_limited with Retry-After, cost, remaining and limit once the free bucket is empty", async () => {
      let ok = 0;
      let limited: WireResponse | undefined;
      for (let i = 0; i < 400 && !limited; i++) {
        const res = await c.get(ME, K.freeExhaust);
        if (res.status === 200) ok++;
        else limited = res;
      }
      expect(limited, "the free bucket ran out").toBeDefined();
      expect(ok).toBeGreaterThanOrEqual(60);
      const res = limited!;
      expectProblem(res, "rate_limited", { cost: 1, remaining: 0, limit: 60 }, true);
      expect(res.headers["retry-after"]).toMatch(/^[1-9]\d*$/);
      const t = tokenHeaders(res);
      expect([t.q, t.w, t.r]).toEqual([60, 60, 0]);
    });
  });

  describe("HTTP errors (section 6)", () => {
    it.each(["/api/v2/nope", "/api/v2/vault/projects/a/b", "/api/v3/me"])("answers 404 not_found for the unknown path %s", async (path) => {
      expectProblem(await c.get(path, K.vault), "not_found");
      expectProblem(await c.get(path), "not_found");
    });

    it("answers a 4xx problem, never a 5xx, for a malformed percent-encoding in the path", async () => {
      const res = await c.get(`${PROJECTS}/%E0%A4%A`, K.vault);
      expect([400, 404], show(res)).toContain(res.status);
      expect(res.mediaType).toBe("application/problem+json");
    });

    it("answers 405 method_not_allowed with Allow for PUT on the project collection", async () => {
      const res = await c.send({ method: "PUT", path: PROJECTS, key: K.vault, json: { name: "x", project_type: "commercial" } });
      expectProblem(res, "method_not_allowed");
      const allow = (res.headers.allow ?? "").split(",").map((m) => m.trim());
      expect(allow).toEqual(expect.arrayContaining(["GET", "POST"]));
      expect(allow).not.toContain("PUT");
    });

    it("answers 405 method_not_allowed with Allow for DELETE on /api/v2/me", async () => {
      const res = await c.send({ method: "DELETE", path: ME, key: K.vault });
      expectProblem(res, "method_not_allowed");
      expect((res.headers.allow ?? "").split(",").map((m) => m.trim())).toContain("GET");
    });

    it("answers 413 payload_too_large for a body over the limit (1 MiB)", async () => {
      const description = "a".repeat(1024 * 1024 + 1024);
      const res = await createProject(c, K.vault, { name: "big", project_type: "commercial", description });
      expectProblem(res, "payload_too_large");
    });

    it("answers 415 unsupported_media_type for a text/plain body", async () => {
      const res = await c.send({
        method: "POST", path: PROJECTS, key: K.vault, headers: [["Content-Type", "text/plain"]], body: "name=Tower&project_type=commercial",
      });
      expectProblem(res, "unsupported_media_type");
    });

    it("answers 400 invalid_body for JSON that does not parse", async () => {
      const res = await c.send({ method: "POST", path: PROJECTS, key: K.vault, headers: [["Content-Type", "application/json"]], body: "{" });
      expectProblem(res, "invalid_body");
    });

    it.each([
      ["a missing name", { project_type: "commercial" }, "name"],
      ["an empty name", { name: "", project_type: "commercial" }, "name"],
      ["a name over 200 characters", { name: "n".repeat(201), project_type: "commercial" }, "name"],
      ["a missing project_type", { name: "Tower" }, "project_type"],
      ["a bad project_type", { name: "Tower", project_type: "castle" }, "project_type"],
      ["a bad status", { name: "Tower", project_type: "commercial", status: "deleted" }, "status"],
    ])("answers 422 validation_failed with errors [{field, message}] for %s", async (_name, body, field) => {
      const res = await createProject(c, K.vault, body);
      expectProblem(res, "validation_failed");
      const errors = res.body.errors as { field: string; message: string }[];
      expect(Array.isArray(errors), show(res)).toBe(true);
      for (const e of errors) {
        expect(Object.keys(e).sort()).toEqual(["field", "message"]);
        expect(typeof e.message).toBe("string");
      }
      expect(errors.map((e) => e.field)).toContain(field);
    });

    it("answers 422 validation_failed for a PATCH with a bad status", async () => {
      const created = await createProject(c, K.vault, { name: uniqueName("v"), project_type: "commercial" });
      const res = await c.send({ method: "PATCH", path: `${PROJECTS}/${created.body.id}`, key: K.vault, json: { status: "deleted" } });
      expectProblem(res, "validation_failed");
      expect((res.body.errors as { field: string }[]).map((e) => e.field)).toContain("status");
    });
  });

  // Raw keys created through the API: each may appear only in the answer that created it.
  const createdKeys: string[] = [];
  keyManagementSuite(() => app, fx, createdKeys);
  keyLifecycleSuite(() => app, fx, createdKeys, framework, variant);
  usageSuite(() => app, fx);
  badInputSuite(() => app, fx, variant);
  limitsSuite(framework, variant);
  refusalsSuite(() => app, fx, variant);

  describe("GET /healthz", () => {
    it("answers 200 with no credential", async () => {
      const res = await c.get("/healthz");
      expect(res.status, show(res)).toBe(200);
    });

    it.each([
      ["POST", "/healthz"],
      ["DELETE", "/healthz"],
      ["POST", "/console"],
      ["PUT", "/console"],
    ])("answers %s %s (a page outside the policy) with 405 method_not_allowed and Allow: GET, HEAD", async (method, path) => {
      const res = await c.send({ method, path });
      expect(res.status, show(res)).toBe(405);
      expect(res.headers["allow"]).toBe("GET, HEAD");
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(res.body).toMatchObject({ code: "method_not_allowed" });
    });

    it("still screens another method on such a page for a credential first", async () => {
      const res = await c.send({ method: "POST", path: `/healthz?k=${fx.keys.main}` });
      expect(res.status, show(res)).toBe(400);
      expect(res.body).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    });
  });

  describe("every answer the suite saw", () => {
    it("never echoes a raw key in any response header or body, nor writes one to the log", () => {
      expectNoSecrets(app, fx.secrets);
    });

    it("was logged as one JSON line per request, with no raw key and no JWT in any log line", async () => {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a line is written when its response has finished
      const requests = app.logLines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(requests.length).toBeGreaterThanOrEqual(app.client.log.length);
      for (const r of requests) {
        expect(r).toMatchObject({ msg: "request", method: expect.any(String), route: expect.any(String), status: expect.any(Number), duration_ms: expect.any(Number) });
        if (r["key_prefix"] !== undefined) expect(r["key_prefix"]).toMatch(/^ak_(live|test)_[A-Za-z0-9]{4}$/); // the 12-character display prefix
      }
      expect(requests.some((r) => r["route"] === "/api/v2/me" && r["status"] === 200 && typeof r["key_prefix"] === "string" && typeof r["policy_ms"] === "number")).toBe(true);
      expect(requests.some((r) => r["status"] === 403 && r["code"] === "insufficient_scope" && typeof r["key_prefix"] === "string")).toBe(true);
      for (const line of app.logLines) {
        expect(line, "an API key in a log line").not.toMatch(/ak_(live|test)_[A-Za-z0-9]{8}/);
        expect(line, "a JWT in a log line").not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
      }
    });

    it("showed a raw key made by the API only in the answer that created it, and never logged it", () => {
      expect(createdKeys.length).toBeGreaterThan(0);
      for (const { request, response } of app.client.log) {
        for (const raw of createdKeys) {
          if (!response.text.includes(raw) && !response.rawHeaders.join("\n").includes(raw)) continue;
          expect(request.method, `raw key in the answer to ${request.method ?? "GET"} ${request.path}`).toBe("POST");
          expect(response.status).toBe(201);
          expect(response.body?.key, `${request.path}`).toBe(raw);
          expect(response.headers["idempotent-replayed"]).toBeUndefined();
        }
      }
      for (const line of app.logLines) for (const raw of createdKeys) expect(line.includes(raw), `raw key in log line: ${line.slice(0, 200)}`).toBe(false);
    });

    it("was a well-formed problem+json whenever its status was 4xx or 5xx", () => {
      for (const { request, response } of app.client.log) {
        if (response.status < 400 || request.method === "HEAD") continue;
        const where = `${request.method ?? "GET"} ${request.path.slice(0, 80)}: ${show(response)}`;
        expect(response.mediaType, where).toBe("application/problem+json");
        const b = response.body as Record<string, unknown>;
        expect(b, where).toMatchObject({ status: response.status, type: `https://api.alloovium.com/errors/${String(b?.code)}` });
        expect(typeof b.title, where).toBe("string");
        expect(typeof b.detail, where).toBe("string");
        expect(response.status, where).toBe(catalogue[b.code as ProblemCode]?.status);
        expect(b.title, where).toBe(catalogue[b.code as ProblemCode]?.title);
      }
    });
  });
}

/** No raw key in any response this app gave (headers and body) nor in any line it logged. */
export function expectNoSecrets(app: App, secrets: readonly string[]): void {
  expect(app.client.log.length).toBeGreaterThan(0);
  for (const { request, response } of app.client.log) {
    const seen = `${response.rawHeaders.join("\n")}\n${response.text}`;
    for (const s of secrets) {
      expect(seen.includes(s), `raw key echoed in the answer to ${request.method ?? "GET"} ${request.path}`).toBe(false);
    }
  }
  for (const line of app.logLines) {
    for (const s of secrets) expect(line.includes(s), `raw key in log line: ${line.slice(0, 200)}`).toBe(false);
  }
}

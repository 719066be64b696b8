/**
 * The five frameworks must be indistinguishable on the wire: the same request table is played,
 * in the same order, against Hono, Express, Koa, Fastify and NestJS (each with its own memory
 * stores and the same seed), and every answer is compared after normalizing what legitimately
 * differs (generated ids, timestamps, cursors, the RateLimit numbers that depend on refill
 * timing): status, body, the values of the relevant headers and the names of all the others.
 */
import { generateApiKey } from "@alloovium/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Framework } from "../../src/server";
import { FRAMEWORKS, MEMORY, startApp, type App } from "./support/app";
import { sampleOpenApiDocument } from "../../src/openapi";
import { createResponseValidator } from "../openapi/response-validator";
import { recordedExchanges, type Client, type WireRequest, type WireResponse } from "./support/http";
import { createIssuer } from "./support/oauth";
import { TENANT, USER, createFixture, type Fixture } from "./support/seed";

const ME = "/api/v2/me";
const PROJECTS = "/api/v2/vault/projects";
const KEYS = "/api/v2/keys";

/**
 * Headers of the transport, which differ by how each framework writes the body (chunked or
 * not, keep-alive): left out of the set of header names compared below.
 */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"]);

/** The headers whose values must agree across frameworks. */
const COMPARED_HEADERS = [
  "content-type",
  "www-authenticate",
  "retry-after",
  "ratelimit-policy",
  "ratelimit",
  "allow",
  "idempotent-replayed",
  "location",
] as const;

interface Context {
  readonly c: Client;
  readonly test: Client;
  readonly fx: Fixture;
  readonly tokens: Readonly<Record<"valid" | "expired" | "none" | "hs256" | "readOnly", string>>;
  readonly unknownKey: string;
  /** What earlier rows produced (the created project's id). */
  readonly state: Record<string, string>;
}

type Row = readonly [name: string, run: (ctx: Context) => Promise<WireResponse>];

const json = (key: string | undefined, body: unknown, headers: ReadonlyArray<readonly [string, string]> = []): WireRequest => ({
  method: "POST",
  path: PROJECTS,
  ...(key === undefined ? {} : { key }),
  json: body,
  headers,
});

const ROWS: readonly Row[] = [
  ["no credential", ({ c }) => c.get(ME)],
  ["lower-case bearer", ({ c, fx }) => c.get(ME, undefined, [["Authorization", `bearer ${fx.keys.main}`]])],
  ["Basic scheme", ({ c }) => c.get(ME, undefined, [["Authorization", "Basic dXNlcjpwYXNz"]])],
  ["Bearer without a token", ({ c }) => c.get(ME, undefined, [["Authorization", "Bearer"]])],
  ["Bearer with two tokens", ({ c }) => c.get(ME, undefined, [["Authorization", "Bearer a b"]])],
  ["Bearer with two spaces", ({ c, fx }) => c.get(ME, undefined, [["Authorization", `Bearer  ${fx.keys.main}`]])],
  ["two Authorization headers", ({ c, fx }) => c.get(ME, undefined, [["Authorization", `Bearer ${fx.keys.main}`], ["Authorization", `Bearer ${fx.keys.main}`]])],
  ["key in the query beside a valid header", ({ c, fx }) => c.get(`${ME}?api_key=${fx.keys.main}`, fx.keys.main)],
  ["key in a cookie", ({ c, fx }) => c.get(ME, fx.keys.main, [["Cookie", `api_key=${fx.keys.main}`]])],
  ["key in the body, no Authorization", ({ c, fx }) => c.send(json(undefined, { name: "x", project_type: "commercial", api_key: fx.keys.vault }))],
  ["key in the JSON body of a GET", ({ c, fx }) => c.send({ method: "GET", path: ME, headers: [["Content-Type", "application/json"]], body: JSON.stringify({ api_key: fx.keys.main }) })],
  ["key in a form-encoded body", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.vault, headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: `name=x&api_key=${fx.keys.vault}` })],
  ["key in X-API-Key", ({ c, fx }) => c.get(ME, fx.keys.main, [["X-API-Key", fx.keys.main]])],
  ["bad checksum", ({ c, fx }) => c.get(ME, fx.keys.main.slice(0, -1) + (fx.keys.main.endsWith("a") ? "b" : "a"))],
  ["ak_prod_ key", ({ c, fx }) => c.get(ME, `ak_prod_${fx.keys.main.slice(8)}`)],
  ["key of the wrong length", ({ c, fx }) => c.get(ME, fx.keys.main.slice(0, -1))],
  ["unknown well-formed key", ({ c, unknownKey }) => c.get(ME, unknownKey)],
  ["revoked key", ({ c, fx }) => c.get(ME, fx.keys.revoked)],
  ["expired key", ({ c, fx }) => c.get(ME, fx.keys.expired)],
  ["GET /me with an API key", ({ c, fx }) => c.get(ME, fx.keys.main)],
  ["GET /me with a key of a user without email", ({ c, fx }) => c.get(ME, fx.keys.noEmail)],
  ["GET /me with an OAuth token", ({ c, tokens }) => c.get(ME, tokens.valid)],
  ["expired OAuth token", ({ c, tokens }) => c.get(ME, tokens.expired)],
  ["alg none token", ({ c, tokens }) => c.get(ME, tokens.none)],
  ["HS256 token signed with the public key", ({ c, tokens }) => c.get(ME, tokens.hs256)],
  ["live key on a test deployment", ({ test, fx }) => test.get(ME, fx.keys.main)],
  ["test key on a test deployment", ({ test, fx }) => test.get(ME, fx.keys.test)],
  ["read-only key creates a project", ({ c, fx }) => c.send(json(fx.keys.readOnly, { name: "x", project_type: "commercial" }))],
  ["OAuth token without vault:write creates a project", ({ c, tokens }) => c.send(json(tokens.readOnly, { name: "x", project_type: "commercial" }))],
  ["key without vault scopes lists projects", ({ c, fx }) => c.get(PROJECTS, fx.keys.noEmail)],
  ["capabilities of a read-only key", ({ c, fx }) => c.get("/api/v2/capabilities", fx.keys.readOnly)],
  ["unknown path", ({ c, fx }) => c.get("/api/v2/nope", fx.keys.vault)],
  ["unknown path without credential", ({ c }) => c.get("/api/v2/nope")],
  ["key in the query of an unknown path", ({ c, fx }) => c.get(`/api/v2/nope?api_key=${fx.keys.main}`, fx.keys.main)],
  ["key in the query of a wrong method", ({ c, fx }) => c.send({ method: "PUT", path: `${ME}?api_key=${fx.keys.main}`, key: fx.keys.main })],
  ["key in X-API-Key of an unknown path", ({ c, fx }) => c.get("/api/v2/nope", undefined, [["X-API-Key", fx.keys.main]])],
  ["key in the query of a path that does not decode", ({ c, fx }) => c.get(`${PROJECTS}/%E0%A4%A?api_key=${fx.keys.main}`)],
  ["key in the query of a text/plain POST", ({ c, fx }) => c.send({ method: "POST", path: `${PROJECTS}?api_key=${fx.keys.vault}`, key: fx.keys.vault, headers: [["Content-Type", "text/plain"]], body: "name=x" })],
  ["key in a form-encoded body of a GET", ({ c, fx }) => c.send({ method: "GET", path: ME, key: fx.keys.main, headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: `api_key=${fx.keys.main}` })],
  ["form-encoded body without a credential", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.vault, headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: "name=x&project_type=commercial" })],
  ["path with a trailing slash", ({ c, fx }) => c.get(`${ME}/`, fx.keys.main)],
  ["path in upper case", ({ c, fx }) => c.get("/API/V2/ME", fx.keys.main)],
  ["malformed percent-encoding in the path", ({ c, fx }) => c.get(`${PROJECTS}/%E0%A4%A`, fx.keys.vault)],
  ["HEAD /me", ({ c, fx }) => c.send({ method: "HEAD", path: ME, key: fx.keys.main })],
  ["OPTIONS /me", ({ c, fx }) => c.send({ method: "OPTIONS", path: ME, key: fx.keys.main })],
  ["PUT on the project collection", ({ c, fx }) => c.send({ ...json(fx.keys.vault, { name: "x", project_type: "commercial" }), method: "PUT" })],
  ["DELETE on /me", ({ c, fx }) => c.send({ method: "DELETE", path: ME, key: fx.keys.vault })],
  ["body over 1 MiB", ({ c, fx }) => c.send(json(fx.keys.vault, { name: "x", project_type: "commercial", description: "a".repeat(1024 * 1024 + 1024) }))],
  ["text/plain body", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.vault, headers: [["Content-Type", "text/plain"]], body: "name=x" })],
  ["JSON that does not parse", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.vault, headers: [["Content-Type", "application/json"]], body: "{" })],
  ["POST with no body", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.vault, headers: [["Content-Type", "application/json"]] })],
  ["missing name", ({ c, fx }) => c.send(json(fx.keys.vault, { project_type: "commercial" }))],
  ["bad project_type and an unknown field", ({ c, fx }) => c.send(json(fx.keys.vault, { name: "x", project_type: "castle", colour: "red" }))],
  ["JSON array body", ({ c, fx }) => c.send(json(fx.keys.vault, [1, 2]))],
  ["limit=0", ({ c, fx }) => c.get(`${PROJECTS}?limit=0`, fx.keys.vault)],
  ["limit=101", ({ c, fx }) => c.get(`${PROJECTS}?limit=101`, fx.keys.vault)],
  ["limit=abc", ({ c, fx }) => c.get(`${PROJECTS}?limit=abc`, fx.keys.vault)],
  ["tampered cursor", ({ c, fx }) => c.get(`${PROJECTS}?cursor=bm90LWEtY3Vyc29y`, fx.keys.vault)],
  [
    "create with an Idempotency-Key",
    async ({ c, fx, state }) => {
      const res = await c.send(json(fx.keys.idem, { name: "Downtown Tower", project_type: "commercial" }, [["Idempotency-Key", "create-tower-2026-04-08"]]));
      state.id = res.body?.id;
      return res;
    },
  ],
  ["replay of the create", ({ c, fx }) => c.send(json(fx.keys.idem, { name: "Downtown Tower", project_type: "commercial" }, [["Idempotency-Key", '"create-tower-2026-04-08"']]))],
  ["same Idempotency-Key, other body", ({ c, fx }) => c.send(json(fx.keys.idem, { name: "Uptown Tower", project_type: "commercial" }, [["Idempotency-Key", "create-tower-2026-04-08"]]))],
  ["Idempotency-Key of 300 characters", ({ c, fx }) => c.send(json(fx.keys.idem, { name: "x", project_type: "commercial" }, [["Idempotency-Key", "k".repeat(300)]]))],
  ["validation failure under an Idempotency-Key", ({ c, fx }) => c.send(json(fx.keys.idem, { name: "" }, [["Idempotency-Key", "bad-body-1"]]))],
  ["replay of the validation failure", ({ c, fx }) => c.send(json(fx.keys.idem, { name: "" }, [["Idempotency-Key", "bad-body-1"]]))],
  ["GET the created project", ({ c, fx, state }) => c.get(`${PROJECTS}/${state.id}`, fx.keys.idem)],
  ["GET the project from another tenant", ({ c, fx, state }) => c.get(`${PROJECTS}/${state.id}`, fx.keys.other)],
  ["PATCH the project from another tenant", ({ c, fx, state }) => c.send({ method: "PATCH", path: `${PROJECTS}/${state.id}`, key: fx.keys.other, json: { name: "x" } })],
  ["DELETE the project from another tenant", ({ c, fx, state }) => c.send({ method: "DELETE", path: `${PROJECTS}/${state.id}`, key: fx.keys.other })],
  ["PATCH the project", ({ c, fx, state }) => c.send({ method: "PATCH", path: `${PROJECTS}/${state.id}`, key: fx.keys.idem, json: { status: "archived" } })],
  ["PATCH with a bad status", ({ c, fx, state }) => c.send({ method: "PATCH", path: `${PROJECTS}/${state.id}`, key: fx.keys.idem, json: { status: "gone" } })],
  ["list with limit=1", ({ c, fx }) => c.get(`${PROJECTS}?limit=1`, fx.keys.idem)],
  ["list of another tenant", ({ c, fx }) => c.get(PROJECTS, fx.keys.other)],
  ["DELETE the project", ({ c, fx, state }) => c.send({ method: "DELETE", path: `${PROJECTS}/${state.id}`, key: fx.keys.idem })],
  ["GET the deleted project", ({ c, fx, state }) => c.get(`${PROJECTS}/${state.id}`, fx.keys.idem)],
  [
    "create an API key with an Idempotency-Key",
    async ({ c, fx, state }) => {
      const res = await c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: { name: "CI", environment: "live", scopes: ["vault:read"] }, headers: [["Idempotency-Key", "key-ci-1"]] });
      state.keyId = res.body?.id;
      return res;
    },
  ],
  ["replay of the key create (no raw key)", ({ c, fx }) => c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: { name: "CI", environment: "live", scopes: ["vault:read"] }, headers: [["Idempotency-Key", "key-ci-1"]] })],
  ["create a key with scopes the creator lacks", ({ c, fx }) => c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: { name: "x", environment: "live", scopes: ["chat:read", "vault:read"] } })],
  ["create a key with a tier and no environment", ({ c, fx }) => c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: { name: "x", scopes: [], rate_limit_tier: "pro" } })],
  ["create a key with missing fields", ({ c, fx }) => c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: {} })],
  ["a test key creates a live key", ({ c, fx }) => c.send({ method: "POST", path: KEYS, key: fx.keys.keysTest, json: { name: "x", environment: "live", scopes: [] } })],
  ["list keys with limit=1", ({ c, fx }) => c.get(`${KEYS}?limit=1`, fx.keys.keys)],
  ["GET a key by an id of 150 characters", ({ c, fx }) => c.get(`${KEYS}/${"a".repeat(150)}`, fx.keys.keys)],
  ["GET the created key", ({ c, fx, state }) => c.get(`${KEYS}/${state.keyId}`, fx.keys.keys)],
  ["GET the created key from another tenant", ({ c, fx, state }) => c.get(`${KEYS}/${state.keyId}`, fx.keys.otherKeys)],
  ["PATCH the created key's name", ({ c, fx, state }) => c.send({ method: "PATCH", path: `${KEYS}/${state.keyId}`, key: fx.keys.keys, json: { name: "CI (renamed)" } })],
  ["roll with a grace period over 7 days", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/roll`, key: fx.keys.keys, json: { grace_period_seconds: 604801 } })],
  // Validated by the capabilities' schemas in core's gate, after the policy admitted the request.
  ["roll with a grace period as a string and an unknown field", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/roll`, key: fx.keys.keys, json: { grace_period_seconds: "60", keep: true } })],
  ["PATCH a key with a tier and a name that is not a string", ({ c, fx, state }) => c.send({ method: "PATCH", path: `${KEYS}/${state.keyId}`, key: fx.keys.keys, json: { name: 5, rate_limit_tier: "pro" } })],
  ["revoke with a JSON array body", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/revoke`, key: fx.keys.keys, json: [] })],
  ["GET /api/v2/openapi.json", ({ c }) => c.get("/api/v2/openapi.json")],
  ["roll the created key", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/roll`, key: fx.keys.keys, json: { grace_period_seconds: 60 } })],
  ["revoke the created key", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/revoke`, key: fx.keys.keys })],
  ["keys without keys:read", ({ c, fx }) => c.get(KEYS, fx.keys.readOnly)],
  ["usage of the metered tenant", ({ c, fx }) => c.get("/api/v2/usage", fx.keys.metered)],
  ["GET /healthz", ({ c }) => c.get("/healthz")],
  [
    "free bucket exhausted",
    async ({ c, fx }) => {
      for (let i = 0; i < 400; i++) {
        const res = await c.get(ME, fx.keys.freeExhaust);
        if (res.status !== 200) return res;
      }
      throw new Error("the free bucket never ran out");
    },
  ],
  ["roll the rolled key again", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${state.keyId}/roll`, key: fx.keys.keys, json: { grace_period_seconds: 60 } })],
  [
    "a keys:write-only key strips a stronger key's scopes",
    async ({ c, fx, state }) => {
      const writer = await c.send({ method: "POST", path: KEYS, key: fx.keys.keys, json: { name: "Writer", environment: "live", scopes: ["keys:write"] } });
      state.writerKey = writer.body?.key;
      return c.send({ method: "PATCH", path: `${KEYS}/${fx.ids.vault}`, key: state.writerKey ?? "", json: { scopes: [] } });
    },
  ],
  ["a keys:write-only key revokes a stronger key", ({ c, fx, state }) => c.send({ method: "POST", path: `${KEYS}/${fx.ids.idem}/revoke`, key: state.writerKey ?? "" })],
  ["a keys:write-only key revokes itself", async ({ c, state }) => c.send({ method: "POST", path: `${KEYS}/${(await c.get(ME, state.writerKey ?? "")).body?.api_key_id}/revoke`, key: state.writerKey ?? "" })],
  [
    "create keys past the tenant's cap",
    async ({ c, fx }) => {
      for (let i = 0; i < 150; i++) {
        const res = await c.send({ method: "POST", path: KEYS, key: fx.keys.otherKeys, json: { name: `Bulk ${i}`, environment: "live", scopes: [] } });
        if (res.status !== 201) return res;
      }
      throw new Error("the tenant's key cap was never reached");
    },
  ],
  ["a body nested 100,000 levels deep with an Idempotency-Key", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.main, headers: [["Content-Type", "application/json"], ["Idempotency-Key", "deep-1"]], body: `{"name":${"[".repeat(100_000)}${"]".repeat(100_000)},"project_type":"commercial"}` })],
  [
    "1e400 then null under one Idempotency-Key",
    async ({ c, fx }) => {
      const send = (description: string) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.main, headers: [["Content-Type", "application/json"], ["Idempotency-Key", "collide-1"]], body: `{"name":"x","project_type":"commercial","description":${description}}` });
      await send("1e400");
      return send("null");
    },
  ],
  ["a JSON body that is not valid UTF-8", ({ c, fx }) => c.send({ method: "POST", path: PROJECTS, key: fx.keys.main, headers: [["Content-Type", "application/json"]], body: Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) })],
  ["values that merely look like credentials", ({ c, fx }) => c.get(`${ME}?token=page2`, fx.keys.main, [["User-Agent", "ak_sdk/1.0"], ["X-Request-Id", "ak_123"], ["Cookie", "auth=1"]])],
  ["a key nested in a JSON body", ({ c, fx }) => c.send(json(fx.keys.main, { name: "x", project_type: "commercial", meta: { api_key: fx.keys.main } }))],
  ["a key as a bare JSON string body", ({ c, fx }) => c.send(json(undefined, fx.keys.main))],
  ["a key in the text of a text/plain GET", ({ c, fx }) => c.send({ method: "GET", path: ME, headers: [["Content-Type", "text/plain"]], body: `key: ${fx.keys.main}` })],
  ["a key in the query of /healthz", ({ c, fx }) => c.get(`/healthz?k=${fx.keys.main}`)],
  ["a key in a header of /console", ({ c, fx }) => c.get("/console", undefined, [["X-Request-Id", fx.keys.main]])],
  ["a key in the body of an unknown route", ({ c, fx }) => c.send({ method: "POST", path: "/api/v2/nope", headers: [["Content-Type", "application/json"]], body: JSON.stringify({ meta: { api_key: fx.keys.main } }) })],
  ["two Host headers (the server's own refusal)", ({ c, fx }) => c.get(ME, fx.keys.main, [["Host", "elsewhere.example"]])],
  ["an Expect the server does not know", ({ c, fx }) => c.get(ME, fx.keys.main, [["Expect", "something-else"]])],
];

const UUID_G = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** Keys the API generated (raw, then their 12-character prefix): random on every framework. */
const RAW_KEY_G = /\bak_(?:live|test)_[0-9A-Za-z]{38}\b/g;
const PREFIX_G = /^ak_(?:live|test)_[0-9A-Za-z]{4}$/g;
const ISO_G = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

/** What is compared: status, the body with generated values masked, and the relevant headers. */
interface Normalized {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Partial<Record<(typeof COMPARED_HEADERS)[number], string>>;
  /** Every other header's name (values compared where they are in COMPARED_HEADERS): no framework adds one of its own. */
  readonly headerNames: readonly string[];
}

function normalize(res: WireResponse, fixed: ReadonlySet<string>): Normalized {
  const mask = (s: string) =>
    s
      .replace(UUID_G, (u) => (fixed.has(u) ? u : "<uuid>"))
      .replace(ISO_G, "<timestamp>")
      .replace(RAW_KEY_G, "<raw key>")
      .replace(PREFIX_G, "<prefix>");
  const walk = (v: unknown, key?: string): unknown => {
    if (key === "next_cursor" && typeof v === "string") return "<cursor>";
    if (typeof v === "string") return mask(v);
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  const headers: Normalized["headers"] = {};
  for (const h of COMPARED_HEADERS) {
    let v = res.headers[h];
    if (v === undefined) continue;
    if (h === "ratelimit") v = v.replace(/;r=\d+/g, ";r=<n>").replace(/;t=\d+/g, ";t=<n>");
    if (h === "location") v = mask(v);
    // A 204 has no content: @hono/node-server labels the empty body text/plain (documented in the
    // app's README), which the contract leaves open. Compared everywhere else.
    if (h === "content-type" && res.status === 204) continue;
    headers[h] = v;
  }
  // A 204's Content-Type is left open, as above.
  const headerNames = Object.keys(res.headers)
    .filter((h) => !TRANSPORT_HEADERS.has(h) && !(h === "content-type" && res.status === 204))
    .sort();
  // Member order is part of the bytes a client sees: keep it by comparing the masked text too.
  return { status: res.status, body: res.body === undefined ? res.text : { json: walk(res.body), keyOrder: keyOrder(res.body) }, headers, headerNames };
}

function keyOrder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(keyOrder);
  if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => [k, keyOrder(x)]);
  return null;
}

describe("the five frameworks answer alike", () => {
  const fx = createFixture();
  const fixed = new Set<string>([...Object.values(TENANT), ...Object.values(USER), ...Object.values(fx.ids)]);
  const apps: App[] = [];
  const answers = new Map<Framework, Normalized[]>();
  const raw = new Map<Framework, WireResponse[]>();

  beforeAll(async () => {
    const issuer = await createIssuer({ sub: USER.alex, tenant_id: TENANT.acme, client_id: "client_9a8b7c6d", scope: "vault:read vault:write" });
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      valid: await issuer.mint(),
      expired: await issuer.mint({ iat: now - 7200, exp: now - 3600 }),
      none: issuer.mintNone(),
      hs256: await issuer.mintHs256WithPublicKey(),
      readOnly: await issuer.mint({ scope: "vault:read" }),
    };
    const unknownKey = generateApiKey("live");
    for (const framework of FRAMEWORKS) {
      const live = await startApp(framework, MEMORY, fx, { oauth: { jwks: issuer.jwks, issuer: issuer.issuer } });
      apps.push(live);
      const test = await startApp(framework, MEMORY, fx, { environment: "test" });
      apps.push(test);
      const ctx: Context = { c: live.client, test: test.client, fx, tokens, unknownKey, state: {} };
      const got: WireResponse[] = [];
      for (const [, run] of ROWS) got.push(await run(ctx));
      raw.set(framework, got);
      answers.set(framework, got.map((r) => normalize(r, fixed)));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  it.each(ROWS.map(([name], i) => [name, i] as const))("%s", (_name, i) => {
    const first = FRAMEWORKS[0]!; // hono unless CONFORMANCE_FRAMEWORKS says otherwise
    const reference = answers.get(first)![i];
    // Soft: a failure lists every framework that differs, not only the first.
    for (const framework of FRAMEWORKS) {
      if (framework !== first) expect.soft(answers.get(framework)![i], `${framework} vs ${first}`).toStrictEqual(reference);
    }
  });

  it("answered every row with a status the contract knows (no 5xx)", () => {
    for (const framework of FRAMEWORKS) {
      raw.get(framework)!.forEach((res, i) => expect.soft(res.status, `${framework}: ${ROWS[i]![0]}`).toBeLessThan(500));
    }
  });
});

// Every row's answer, on every framework, that names an operation of the OpenAPI document is
// one the document describes (status, media type, body, headers).
it("answers every row as the OpenAPI document describes", () => {
  const validator = createResponseValidator(sampleOpenApiDocument());
  const report = validator.check(recordedExchanges);
  expect(report.failures, `${report.failures.length} answers the document does not describe`).toEqual([]);
  expect(report.checked).toBeGreaterThan(ROWS.length);
});

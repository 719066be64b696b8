import { defineCapabilities, defineCapability, type CapabilitySet } from "../capabilities";
import { createTestPolicy } from "../testing";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Policy } from "../pipeline";
import type { StandardSchemaV1 } from "@standard-schema/spec";

/** whoami's query schema (a hand-written Standard Schema): `strict`, when given, must be `yes`. */
const strictQuery: StandardSchemaV1<unknown, Record<string, unknown>> = {
  "~standard": {
    version: 1,
    vendor: "alloovium-conformance",
    validate: (value) => {
      const q = value as Record<string, unknown>;
      return q["strict"] === undefined || q["strict"] === "yes" ? { value: q } : { issues: [{ message: "must be yes", path: ["strict"] }] };
    },
    jsonSchema: { input: () => ({ type: "object", properties: { strict: { const: "yes" } } }), output: () => ({ type: "object" }) },
  } as StandardSchemaV1.Props<unknown, Record<string, unknown>>,
};
import { pointValue, startTelemetryRig, telemetrySdkInstalled, type TelemetryRig } from "./telemetry";

/** The capabilities the adapter suite mounts. */
export const adapterSuiteCapabilities = (() => {
  const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true, query: strictQuery });
  const create = defineCapability({ id: "things.create", method: "POST", path: "/things", scopes: ["vault:write"], cost: 1, idempotent: true });
  const flaky = defineCapability({ id: "things.flaky", method: "POST", path: "/flaky/{id}", cost: 1, credits: 3, idempotent: true });
  return { whoami, create, flaky, all: defineCapabilities([whoami, create, flaky]) };
})();

/** What a framework's harness mounts, counted by the app (the suite reads the counts from bodies). */
export interface AdapterApp {
  /** Base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the framework's app on 127.0.0.1 (port 0) with the adapter bound to `policy`,
 * `capabilities` for 404/405 and a body limit of `bodyLimitBytes`, serving:
 * - `GET /api/v2/me` (whoami): 200, the principal as JSON;
 * - `POST /things` (create): counts calls as `n`; throws `new ProblemError("invalid_body", …)`
 *   when the body did not parse; else 201, `Location: /things/<n>`, JSON `{ n, got: <body> }`;
 * - `POST /flaky/{id}` (flaky, 3 credits): counts runs; throws a plain `Error("secret detail")` on
 *   the first run when id is `boom` and on every run when id is `throw`; answers 503 JSON
 *   `{ runs }` when id is `unavailable`; else 200 JSON `{ runs }`; when id is `later`, something
 *   the framework runs after the adapter admitted the request and before the handler (a later
 *   middleware, a route hook, another guard) throws `Error("secret detail")` and the handler never runs;
 * - `GET /plain-boom`, outside any capability: throws `Error("outside any capability")`;
 * - `GET /open`, outside any capability, behind the adapter's `screen`: 200 JSON
 *   `{ got: <the parsed body as the adapter hands it on, or null> }` (also `POST /open` when the
 *   suite runs with `readsGetBodies: false`);
 * - the adapter's not-found and error handling.
 *
 * Routes are strict and case-sensitive, as capability paths match (`/api/v2/me/` is not
 * `/api/v2/me`): Express `strict routing` and `case sensitive routing`, `@koa/router`
 * `{ strict: true, sensitive: true }`; Hono is by default.
 */
export type AdapterHarness = (policy: Policy, capabilities: CapabilitySet, bodyLimitBytes: number) => Promise<AdapterApp>;

/** What the server under the adapter can see, where platforms differ. */
export interface AdapterConformanceOptions {
  /**
   * False where the server hands the adapter no body on GET and HEAD (a Fetch `Request` has
   * none: Bun.serve, Deno.serve, workers). The body cases then send their bodies with POST (to
   * `POST /things` and `POST /open`), and the case about a key in the body of a GET does too;
   * a GET or HEAD that announces a body (`Content-Length`, `Transfer-Encoding`) must be refused
   * with 400 `credential_location_not_allowed` (`incomingFromFetch` does it), as what it held
   * cannot be screened.
   * @default true
   */
  readonly readsGetBodies?: boolean;
}

/**
 * The adapter contract over real sockets: one suite for every framework adapter (the built-in
 * Express, Koa and Hono ones, or your own).
 */
export function adapterConformance(name: string, start: AdapterHarness, options: AdapterConformanceOptions = {}): void {
  // Where GET bodies are dropped, a body the suite would send on GET goes with POST instead.
  const getBodies = options.readsGetBodies !== false;
  const scanned = getBodies ? { method: "GET", me: "/api/v2/me" } : { method: "POST", me: "/things" };
  describe(`adapter conformance: ${name}`, () => {
    const t = createTestPolicy();
    let app: AdapterApp;
    let base: string;
    let key: string;
    let readOnlyKey: string;

    beforeAll(async () => {
      key = (await t.mintKey({ scopes: ["vault:write"] })).key;
      readOnlyKey = (await t.mintKey({ scopes: ["vault:read"] })).key;
      app = await start(t.policy, adapterSuiteCapabilities.all, 64);
      base = app.url;
    });
    afterAll(() => app.close());

    function send(path: string, init: { method?: string; headers: readonly string[]; body?: string }) {
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        const length = init.body !== undefined && !init.headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === "content-length") ? ["Content-Length", String(Buffer.byteLength(init.body))] : [];
        const req = httpRequest(`${base}${path}`, { method: init.method ?? "GET", headers: ["Host", "127.0.0.1", ...init.headers, ...length] }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("error", reject).end(init.body);
      });
    }
    const json = (body: string) => JSON.parse(body) as Record<string, unknown>;
    function sendBytes(path: string, headers: readonly string[], body: Buffer) {
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { method: "POST", headers: ["Host", "127.0.0.1", ...headers, "Content-Length", String(body.length)] }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        });
        req.on("error", reject).end(body);
      });
    }

    it("passes the principal to the handler and adds the RateLimit headers", async () => {
      const r = await send("/api/v2/me", { headers: ["Authorization", `Bearer ${key}`] });
      expect(r.status).toBe(200);
      expect(json(r.body)).toMatchObject({ auth_method: "api_key", scopes: ["vault:write"] });
      expect(r.headers["ratelimit-policy"]).toBe('"tokens";q=600;w=60, "credits";q=100000');
      expect(r.headers["ratelimit"]).toMatch(/^"tokens";r=\d+;t=\d+, "credits";r=\d+$/);
    });

    it("validates the capability's schemas after the policy: 400 invalid_parameter with param and the RateLimit headers", async () => {
      const r = await send("/api/v2/me?strict=no", { headers: ["Authorization", `Bearer ${key}`] });
      expect(r.status).toBe(400);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(json(r.body)).toMatchObject({ code: "invalid_parameter", param: "strict" });
      expect(r.headers["ratelimit"]).toMatch(/"tokens";r=\d+/);
      expect((await send("/api/v2/me?strict=yes", { headers: ["Authorization", `Bearer ${key}`] })).status).toBe(200);
      // Before the policy admitted the request nothing is validated: 401 first.
      expect(json((await send("/api/v2/me?strict=no", { headers: [] })).body)).toMatchObject({ code: "missing_credentials" });
    });

    it("writes a rejection as a problem without running the handler", async () => {
      const r = await send("/things", { method: "POST", headers: ["Authorization", `Bearer ${readOnlyKey}`, "Content-Type", "application/json"], body: "{}" });
      expect(r.status).toBe(403);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(json(r.body)).toMatchObject({ code: "insufficient_scope", missing_scopes: ["vault:write"] });
      expect(r.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"');
      const none = await send("/api/v2/me", { headers: [] });
      expect(none.status).toBe(401);
      expect(json(none.body).code).toBe("missing_credentials");
    });

    it("stores the handler's response and replays it for the same Idempotency-Key", async () => {
      const headers = ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Idempotency-Key", "replay-1"];
      const first = await send("/things", { method: "POST", headers, body: '{"a":1,"b":2}' });
      const second = await send("/things", { method: "POST", headers, body: '{ "b": 2, "a": 1 }' });
      expect(first.status).toBe(201);
      expect(first.headers["idempotent-replayed"]).toBeUndefined();
      expect(second.status).toBe(201);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      expect(second.headers["location"]).toBe(first.headers["location"]);
      expect(second.body).toBe(first.body);
      expect(second.headers["ratelimit"]).toBeDefined();
    });

    it("stores a ProblemError below 500 as the handler's answer", async () => {
      const headers = ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Idempotency-Key", "bad-json-1"];
      const first = await send("/things", { method: "POST", headers, body: "{nope" });
      const second = await send("/things", { method: "POST", headers, body: "{nope" });
      expect(first.status).toBe(400);
      expect(json(first.body).code).toBe("invalid_body");
      expect(first.headers["content-type"]).toBe("application/problem+json");
      expect(second.headers["idempotent-replayed"]).toBe("true");
      expect(second.body).toBe(first.body);
    });

    it("answers a thrown error with a bare 500 and releases the key so that a retry runs", async () => {
      const headers = ["Authorization", `Bearer ${key}`, "Idempotency-Key", "boom-1"];
      const first = await send("/flaky/boom", { method: "POST", headers });
      expect(first.status).toBe(500);
      expect(first.headers["content-type"]).toBe("application/problem+json");
      expect(json(first.body)).toEqual({
        type: "https://api.alloovium.com/errors/internal_error",
        title: "Internal error",
        status: 500,
        detail: "The server failed to complete the request.",
        code: "internal_error",
      });
      const retry = await send("/flaky/boom", { method: "POST", headers });
      expect(retry.status).toBe(200);
      expect(retry.headers["idempotent-replayed"]).toBeUndefined();
      expect(json(retry.body)).toEqual({ runs: 2 });
    });

    it("settles a request that a later middleware, hook or guard failed with a throw: a bare 500, credits refunded, the key given back", async () => {
      const auth = ["Authorization", `Bearer ${key}`];
      const balance = (r: { headers: Record<string, string | string[] | undefined> }) => Number(/"credits";r=(\d+)/.exec(String(r.headers["ratelimit"]))?.[1]);
      const start = balance(await send("/api/v2/me", { headers: auth }));
      const headers = [...auth, "Idempotency-Key", "later-1"];
      for (const attempt of ["first", "retry"]) {
        const r = await send("/flaky/later", { method: "POST", headers });
        expect(r.status, attempt).toBe(500); // the retry runs again: not 409 idempotency_key_in_use, not a replay
        expect(r.headers["idempotent-replayed"], attempt).toBeUndefined();
        expect(json(r.body), attempt).toMatchObject({ code: "internal_error", detail: "The server failed to complete the request." });
        expect(r.body, attempt).not.toContain("secret detail");
        expect(balance(await send("/api/v2/me", { headers: auth })), attempt).toBe(start);
      }
    });

    it("refuses two Authorization headers with 400 duplicate_credentials", async () => {
      const r = await send("/api/v2/me", { headers: ["Authorization", `Bearer ${key}`, "Authorization", `Bearer ${key}`] });
      expect(r.status).toBe(400);
      expect(json(r.body).code).toBe("duplicate_credentials");
      expect(r.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_request"');
    });

    it("answers 413 for a body over the limit and 415 for a body that is not JSON", async () => {
      const auth = ["Authorization", `Bearer ${key}`];
      const big = await send("/things", { method: "POST", headers: [...auth, "Content-Type", "application/json"], body: JSON.stringify({ x: "y".repeat(100) }) });
      expect(big.status).toBe(413);
      expect(json(big.body).code).toBe("payload_too_large");
      expect(big.headers["content-type"]).toBe("application/problem+json");
      const form = await send("/things", { method: "POST", headers: [...auth, "Content-Type", "application/x-www-form-urlencoded"], body: "a=1" });
      expect(form.status).toBe(415);
      expect(json(form.body).code).toBe("unsupported_media_type");
    });

    it("answers unknown paths with 404 and known paths with another method with 405 and Allow", async () => {
      const missing = await send("/nowhere", { headers: [] });
      expect(missing.status).toBe(404);
      expect(json(missing.body).code).toBe("not_found");
      const wrong = await send("/api/v2/me", { method: "DELETE", headers: [] });
      expect(wrong.status).toBe(405);
      expect(wrong.headers["allow"]).toBe("GET");
      expect(json(wrong.body).code).toBe("method_not_allowed");
    });

    it("answers HEAD on a GET capability with the RateLimit headers, as GET would", async () => {
      const r = await send("/api/v2/me", { method: "HEAD", headers: ["Authorization", `Bearer ${key}`] });
      expect(r.status).toBe(200);
      expect(r.body).toBe("");
      expect(r.headers["ratelimit-policy"]).toBe('"tokens";q=600;w=60, "credits";q=100000');
      expect(r.headers["ratelimit"]).toMatch(/^"tokens";r=\d+;t=\d+, "credits";r=\d+$/);
    });

    it(`refuses a key in the JSON body of a ${scanned.method}, with or without a valid Authorization header`, async () => {
      const body = JSON.stringify({ api_key: key });
      for (const auth of [[], ["Authorization", `Bearer ${key}`]]) {
        const r = await send(scanned.me, { method: scanned.method, headers: [...auth, "Content-Type", "application/json", "Content-Length", String(body.length)], body });
        expect(r.status).toBe(400);
        expect(json(r.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "/api_key" });
      }
    });

    // Only where GET bodies are dropped (a plain `if`: the suite also runs under bun test and deno test).
    if (!getBodies) it("refuses a GET or HEAD announcing a body it cannot see: 400 credential_location_not_allowed, on routes and off them", async () => {
      const body = "nothing to see";
      for (const method of ["GET", "HEAD"]) {
        for (const path of ["/api/v2/me", "/open", "/nowhere"]) {
          const r = await send(path, { method, headers: ["Authorization", `Bearer ${key}`, "Content-Type", "text/plain"], body });
          expect(r.status, `${method} ${path}`).toBe(400);
          if (method === "GET") expect(json(r.body), path).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
        }
      }
      expect((await send("/api/v2/me", { headers: ["Authorization", `Bearer ${key}`] })).status).toBe(200);
    });

    it("checks the credential location before 413 and 415: in a form body, the query or another header", async () => {
      const auth = ["Authorization", `Bearer ${key}`];
      const form = await send("/things", { method: "POST", headers: [...auth, "Content-Type", "application/x-www-form-urlencoded"], body: `a=1&api_key=${key}` });
      expect(form.status).toBe(400);
      expect(json(form.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "api_key" });
      const text = await send(`/things?api_key=${key}`, { method: "POST", headers: [...auth, "Content-Type", "text/plain"], body: "a=1" });
      expect(json(text.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
      const big = await send("/things", { method: "POST", headers: [...auth, "X-API-Key", key, "Content-Type", "application/json"], body: JSON.stringify({ x: "y".repeat(100) }) });
      expect(json(big.body)).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
    });

    it("refuses a key in the query, a cookie or another header of an unmatched request before its 404 or 405", async () => {
      const missing = await send(`/nowhere?api_key=${key}`, { headers: ["Authorization", `Bearer ${key}`] });
      expect(missing.status).toBe(400);
      expect(json(missing.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
      expect(missing.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_request"');
      const wrong = await send(`/api/v2/me?api_key=${key}`, { method: "PUT", headers: ["Authorization", `Bearer ${key}`] });
      expect(json(wrong.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
      const cookie = await send("/nowhere", { headers: ["Cookie", `api_key=${key}`] });
      expect(json(cookie.body)).toMatchObject({ code: "credential_location_not_allowed", location: "cookie" });
      const header = await send("/api/v2/me", { method: "DELETE", headers: ["X-API-Key", key] });
      expect(json(header.body)).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
    });

    it("answers 404 not_found, never a 500, for a path parameter that does not decode", async () => {
      const r = await send("/flaky/%E0%A4%A", { method: "POST", headers: ["Authorization", `Bearer ${key}`] });
      expect(r.status).toBe(404);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(json(r.body).code).toBe("not_found");
      const exposed = await send(`/flaky/%E0%A4%A?api_key=${key}`, { method: "POST", headers: [] });
      expect(json(exposed.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    });

    it("routes strictly and case-sensitively, as capability paths match", async () => {
      for (const path of ["/api/v2/me/", "/API/V2/ME"]) {
        const r = await send(path, { headers: ["Authorization", `Bearer ${key}`] });
        expect(r.status, path).toBe(404);
        expect(json(r.body).code, path).toBe("not_found");
      }
    });

    it("keeps the credits of an answer below 500 and refunds a 5xx or a throw before the client sees it", async () => {
      const auth = ["Authorization", `Bearer ${key}`];
      const balance = (r: { headers: Record<string, string | string[] | undefined> }) => Number(/"credits";r=(\d+)/.exec(String(r.headers["ratelimit"]))?.[1]);
      const start = balance(await send("/api/v2/me", { headers: auth }));
      const ok = await send("/flaky/ok", { method: "POST", headers: auth });
      expect(ok.status).toBe(200);
      expect(balance(ok)).toBe(start - 3);
      for (const [id, idem] of [["unavailable", []], ["throw", []], ["unavailable", ["Idempotency-Key", "refund-1"]], ["throw", ["Idempotency-Key", "refund-2"]]] as const) {
        const r = await send(`/flaky/${id}`, { method: "POST", headers: [...auth, ...idem] });
        expect(r.status, id).toBe(id === "throw" ? 500 : 503);
        expect(balance(r), id).toBe(start - 6); // charged while it ran...
        expect(balance(await send("/api/v2/me", { headers: auth })), id).toBe(start - 3); // ...and refunded before the answer
      }
    });

    it("answers 400 invalid_body for a JSON body that is not valid UTF-8, before the handler runs", async () => {
      const body = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
      const r = await sendBytes("/things", ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Idempotency-Key", "utf8-1"], body);
      expect(r.status).toBe(400);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(json(r.body)).toMatchObject({ code: "invalid_body" });
      const fixed = await send("/things", { method: "POST", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Idempotency-Key", "utf8-1"], body: '{"a":"\u00ff"}' });
      expect(fixed.status).toBe(201); // the refusal stored nothing under the key
    });

    it("finds a credential by its shape in a nested JSON body, a bare JSON string and the text of any body", async () => {
      const auth = ["Authorization", `Bearer ${key}`];
      const nested = await send(scanned.me, { method: scanned.method, headers: [...auth, "Content-Type", "application/json"], body: JSON.stringify({ k: [key] }) });
      expect(json(nested.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "/k/0" });
      const bare = await send("/things", { method: "POST", headers: [...auth, "Content-Type", "application/json"], body: JSON.stringify(key) });
      expect(json(bare.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "" });
      const text = await send(scanned.me, { method: scanned.method, headers: [...auth, "Content-Type", "text/plain"], body: `key: ${key}` });
      expect(json(text.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
      const broken = await send("/things", { method: "POST", headers: [...auth, "Content-Type", "application/json"], body: `{"k": "${key}` });
      expect(json(broken.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
      for (const r of [nested, bare, text, broken]) expect(r.body).not.toContain(key);
    });

    it("lets ordinary values that merely look like credentials through", async () => {
      const r = await send("/api/v2/me?token=page2", { headers: ["Authorization", `Bearer ${key}`, "Cookie", "auth=1", "User-Agent", "ak_sdk/1.0", "X-Request-Id", "ak_123"] });
      expect(r.status).toBe(200);
    });

    it("screens a route outside the policy: query, cookie, header and body, and hands the body on", async () => {
      for (const [path, headers, body, location] of [
        [`/open?next=${key}`, [], undefined, "query"],
        ["/open", ["Cookie", `k=${key}`], undefined, "cookie"],
        ["/open", ["X-Request-Id", key], undefined, "header"],
        ["/open", ["Content-Type", "text/plain"], `${key}`, "body"],
        ["/open", ["Content-Type", "application/json"], JSON.stringify({ k: [key] }), "body"],
      ] as const) {
        const r = await send(path, { headers: [...headers], ...(body === undefined ? {} : { body, method: scanned.method }) });
        expect(r.status, location).toBe(400);
        expect(json(r.body), location).toMatchObject({ code: "credential_location_not_allowed", location });
        expect(r.body).not.toContain(key);
      }
      const ok = await send("/open?token=page2", { method: scanned.method, headers: ["Cookie", "auth=1", "User-Agent", "ak_sdk/1.0", "Content-Type", "application/json"], body: '{"name":"ak_tower"}' });
      expect(ok.status).toBe(200);
      expect(json(ok.body)).toEqual({ got: { name: "ak_tower" } });
      const none = await send("/open", { headers: [] });
      expect(json(none.body)).toEqual({ got: null });
    });

    it("reads and scans the body of a request no route takes before its 404 or 405", async () => {
      const missing = await send("/nowhere", { method: "POST", headers: ["Content-Type", "application/json"], body: JSON.stringify({ k: [key] }) });
      expect(missing.status).toBe(400);
      expect(json(missing.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "/k/0" });
      const wrong = await send("/api/v2/me", { method: "PUT", headers: ["Content-Type", "text/plain"], body: key });
      expect(json(wrong.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
      const clean = await send("/nowhere", { method: "POST", headers: ["Content-Type", "text/plain"], body: "ak_tower" });
      expect(clean.status).toBe(404);
    });

    it("answers an error thrown outside a policy route with a bare 500 problem", async () => {
      const r = await send("/plain-boom", { headers: [] });
      expect(r.status).toBe(500);
      expect(r.headers["content-type"]).toBe("application/problem+json");
      expect(json(r.body).code).toBe("internal_error");
      expect(r.body).not.toContain("outside any capability");
    });
  });

  // Runs where the OpenTelemetry SDK packages resolve (devDependencies of @alloovium/core here).
  describe.skipIf(!telemetrySdkInstalled())(`adapter conformance: ${name}, OpenTelemetry (@alloovium/core/otel, in-memory exporters)`, () => {
    let rig: TelemetryRig;
    let app: AdapterApp;
    let key: string;
    let readOnlyKey: string;

    beforeAll(async () => {
      rig = await startTelemetryRig({ http: true });
      const { createInstrumentedPolicy } = await import("../otel");
      const t = createTestPolicy({ create: (o) => createInstrumentedPolicy(o, { meterProvider: rig.meterProvider, storeSpans: true }) });
      key = (await t.mintKey({ scopes: ["vault:write"], tier: "pro" })).key;
      readOnlyKey = (await t.mintKey({ scopes: ["vault:read"] })).key;
      app = await start(t.policy, adapterSuiteCapabilities.all, 64);
    });
    afterAll(async () => {
      await app?.close();
      await rig?.close();
    });

    function send(path: string, method: string, headers: Record<string, string>, body?: string) {
      return new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${app.url}${path}`, { method, headers: { host: "127.0.0.1", ...headers, ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) } }, (res) => {
          res.resume().on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject).end(body);
      });
    }
    const json = { "content-type": "application/json" };

    it("sets the capability, the outcome and the problem code on the request's server span, with a child span per store call", async () => {
      expect(await send("/api/v2/me", "GET", { authorization: `Bearer ${key}` })).toBe(200);
      expect(await send("/things", "POST", { authorization: `Bearer ${readOnlyKey}`, ...json }, "{}")).toBe(403);
      expect(await send("/api/v2/me", "GET", {})).toBe(401);
      const headers = { authorization: `Bearer ${key}`, ...json, "idempotency-key": "otel-replay-1" };
      expect(await send("/things", "POST", headers, '{"a":1}')).toBe(201);
      expect(await send("/things", "POST", headers, '{"a":1}')).toBe(201); // replayed
      await new Promise((resolve) => setTimeout(resolve, 20)); // the last span ends after the response
      const spans = rig.spans();
      const server = spans.filter((s) => s.kind === 1);
      const policyOf = (s: (typeof spans)[number]) => [s.attributes["alloovium.policy.capability"], s.attributes["alloovium.policy.outcome"], s.attributes["alloovium.policy.code"]];
      expect(server.map(policyOf)).toEqual([
        ["meta.whoami", "admitted", undefined],
        ["things.create", "refused", "insufficient_scope"],
        ["meta.whoami", "refused", "missing_credentials"],
        ["things.create", "admitted", undefined],
        ["things.create", "replayed", undefined],
      ]);
      const first = server[0]!;
      const children = spans.filter((s) => s.parentSpanId === first.spanId).map((s) => s.name);
      expect(children).toContain("alloovium.store buckets.consumeNow");
      const claimed = spans.filter((s) => s.parentSpanId === server[3]!.spanId).map((s) => s.name);
      expect(claimed.some((n) => n.startsWith("alloovium.store idempotency."))).toBe(true);
    });

    it("counts decisions by outcome, code, capability and tier, their duration in seconds, and credits charged and refunded", async () => {
      expect(await send("/flaky/ok", "POST", { authorization: `Bearer ${key}`, ...json }, "{}")).toBe(200);
      expect(await send("/flaky/throw", "POST", { authorization: `Bearer ${key}`, ...json }, "{}")).toBe(500);
      await new Promise((resolve) => setTimeout(resolve, 20)); // events are told after the answer
      const m = await rig.metrics();
      const decisions = m.get("alloovium.policy.decisions");
      expect(decisions?.unit).toBe("{decision}");
      expect(pointValue(decisions, { outcome: "admitted", capability: "meta.whoami", tier: "pro" })).toBe(1);
      expect(pointValue(decisions, { outcome: "refused", code: "insufficient_scope", capability: "things.create", tier: "standard" })).toBe(1);
      expect(pointValue(decisions, { outcome: "refused", code: "missing_credentials", capability: "meta.whoami" })).toBe(1);
      expect(pointValue(decisions, { outcome: "replayed", capability: "things.create", tier: "pro" })).toBe(1);
      expect(pointValue(decisions, { outcome: "admitted", capability: "things.flaky", tier: "pro" })).toBe(2);
      const duration = m.get("alloovium.policy.duration");
      expect(duration?.unit).toBe("s");
      expect(duration?.points.reduce((n, p) => n + p.value, 0)).toBe(7);
      expect(duration?.points[0]?.histogram?.boundaries[0]).toBe(0.00001);
      expect(pointValue(m.get("alloovium.policy.credits.charged"), { capability: "things.flaky" })).toBe(6);
      expect(pointValue(m.get("alloovium.policy.credits.refunded"), { capability: "things.flaky" })).toBe(3);
      expect(pointValue(m.get("alloovium.policy.settlements"), { outcome: "refunded", capability: "things.flaky" })).toBe(1);
      for (const metric of m.values()) for (const p of metric.points) expect(p.attributes["tenant"]).toBeUndefined(); // opt-in only
    });
  });
}

/**
 * Bad input on the wire (issue 9): bodies nested deeper than any recursion survives, bodies
 * whose values JSON.stringify would merge, JSON that is not UTF-8, and credentials recognised
 * by their shape wherever they sit, with no false positives on ordinary values. Called by
 * `contractSuite`, so it runs on every framework and store variant.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seesRawRequest, seesUserinfo, type App, type StoreVariant } from "./app";
import { INVALID_REQUEST_CHALLENGE, expectProblem, show } from "./expect";
import type { Client, WireRequest, WireResponse } from "./http";
import type { Fixture } from "./seed";

const ME = "/api/v2/me";
const PROJECTS = "/api/v2/vault/projects";
/** A JWT by shape: `{"alg":"RS256","typ":"at+jwt"}`, a payload and a signature (never verified here). */
const JWT = `${Buffer.from('{"alg":"RS256","typ":"at+jwt"}').toString("base64url")}.${Buffer.from('{"sub":"x"}').toString("base64url")}.c2lnbmF0dXJl`;

const unique = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

/** `{"name": [[[...]]], "project_type": "commercial"}` with `depth` levels of arrays and objects. */
function deepProject(depth: number): string {
  const half = Math.floor(depth / 2);
  return `{"name":${'[{"a":'.repeat(half)}1${"}]".repeat(half)},"project_type":"commercial"}`;
}

/** Asserts the 400 and that the credential appears nowhere in the answer. */
function expectExposed(res: WireResponse, secret: string, extensions: Record<string, unknown>): void {
  expectProblem(res, "credential_location_not_allowed", extensions);
  expect(res.headers["www-authenticate"], show(res)).toBe(INVALID_REQUEST_CHALLENGE);
  expect(`${res.rawHeaders.join("\n")}\n${res.text}`.includes(secret), show(res)).toBe(false);
}

/** Deep JSON, fingerprint collisions, invalid UTF-8, credentials by shape. */
export function badInputSuite(app: () => App, fx: Fixture, variant?: StoreVariant): void {
  const K = fx.keys;
  /** False on Bun and Deno: a GET body is refused unread there (see `seesRawRequest`). */
  const raw = seesRawRequest(variant);
  /** Where a GET body would be refused unread, the body cases send theirs with POST. */
  const bodyMethod = raw ? "GET" : "POST";
  /** The answer to a GET or HEAD announcing a body that the runtime does not hand over. */
  const unread = (res: WireResponse) => expectProblem(res, "credential_location_not_allowed", { location: "body" });
  const c = (): Client => app().client;
  const post = (body: string | Buffer, headers: ReadonlyArray<readonly [string, string]> = [], key: string | undefined = K.vault): Promise<WireResponse> =>
    c().send({ method: "POST", path: PROJECTS, ...(key === undefined ? {} : { key }), headers: [["Content-Type", "application/json"], ...headers], body });

  describe("bad input: deep JSON (section 5)", () => {
    it.each([6_000, 100_000])("answers a body nested %i levels deep alike with and without an Idempotency-Key, never 500", async (depth) => {
      const body = deepProject(depth);
      const plain = await post(body);
      const keyed = await post(body, [["Idempotency-Key", unique("deep")]]);
      expectProblem(plain, "validation_failed");
      expectProblem(keyed, "validation_failed");
      expect(keyed.body.errors, show(keyed)).toEqual(plain.body.errors);
    });

    it("walks a deep body for credentials on every route: a capability, /healthz, an unknown path", async () => {
      const deep = "[".repeat(100_000) + "]".repeat(100_000);
      const json = [["Content-Type", "application/json"]] as const;
      expectProblem(await c().send({ method: "POST", path: "/api/v2/nope", headers: json, body: deep }), "not_found");
      const me = await c().send({ method: "GET", path: ME, key: K.main, headers: json, body: deep });
      const health = await c().send({ method: "GET", path: "/healthz", headers: json, body: deep });
      const buried = "[".repeat(50_000) + JSON.stringify(K.main) + "]".repeat(50_000);
      if (raw) {
        expect(me.status, show(me)).toBe(200);
        expect(health.status, show(health)).toBe(200);
        expectExposed(await c().send({ method: "GET", path: ME, key: K.main, headers: json, body: buried }), K.main, { location: "body" });
        return;
      }
      // Bun, Deno: refused unread on GET; walked with POST (the wrong method: screened, then 405).
      unread(me);
      unread(health);
      expectProblem(await c().send({ method: "POST", path: ME, key: K.main, headers: json, body: deep }), "method_not_allowed");
      expectExposed(await c().send({ method: "POST", path: ME, key: K.main, headers: json, body: buried }), K.main, { location: "body" });
    });
  });

  describe("bad input: fingerprints (section 5)", () => {
    it.each([
      ["1e400 then null", '{"name":"n","project_type":"commercial","description":1e400}', '{"name":"n","project_type":"commercial","description":null}'],
      ["-1e400 then 1e400", '{"name":"n","project_type":"commercial","description":-1e400}', '{"name":"n","project_type":"commercial","description":1e400}'],
      ["-0 then 0", '{"name":"n","project_type":"commercial","description":-0}', '{"name":"n","project_type":"commercial","description":0}'],
      ["a lone surrogate then U+FFFD", '{"name":"\\ud800","project_type":"commercial"}', '{"name":"\\ufffd","project_type":"commercial"}'],
    ])("answers 422 idempotency_key_reused for %s under one Idempotency-Key", async (_name, first, second) => {
      const key = unique("collide");
      const a = await post(first, [["Idempotency-Key", key]]);
      expect(a.status, show(a)).toBeLessThan(500);
      const b = await post(second, [["Idempotency-Key", key]]);
      expectProblem(b, "idempotency_key_reused");
      expect(b.headers["idempotent-replayed"]).toBeUndefined();
    });

    it("replays the same body sent with other key order and white space", async () => {
      const key = unique("same");
      const name = unique("fp");
      const a = await post(`{"name":"${name}","project_type":"commercial","description":null}`, [["Idempotency-Key", key]]);
      expect(a.status, show(a)).toBe(201);
      const b = await post(`{ "description" : null,\n "project_type":"commercial", "name": "${name}" }`, [["Idempotency-Key", key]]);
      expect(b.status, show(b)).toBe(201);
      expect(b.headers["idempotent-replayed"]).toBe("true");
      expect(b.body.id).toBe(a.body.id);
    });
  });

  describe("bad input: invalid UTF-8 (section 5)", () => {
    const notUtf8 = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","project_type":"commercial"}')]);

    it("answers 400 invalid_body for a JSON body that is not valid UTF-8, with or without an Idempotency-Key, and stores nothing", async () => {
      expectProblem(await post(notUtf8), "invalid_body");
      const key = unique("utf8");
      expectProblem(await post(notUtf8, [["Idempotency-Key", key]]), "invalid_body");
      const overlong = Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]);
      expectProblem(await post(overlong), "invalid_body");
      const surrogate = Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]); // CESU-8 of U+D800
      expectProblem(await post(surrogate), "invalid_body");
      // The refusal took no claim: the same key with a valid body runs.
      const name = unique("after-utf8");
      const ok = await post(JSON.stringify({ name, project_type: "commercial" }), [["Idempotency-Key", key]]);
      expect(ok.status, show(ok)).toBe(201);
      expect(ok.body.name).toBe(name);
    });

    it("checks the credential location first", async () => {
      const body = Buffer.concat([Buffer.from(`{"k":"${K.vault}`), Buffer.from([0xff]), Buffer.from('"}')]);
      expectExposed(await post(body), K.vault, { location: "body" });
    });
  });

  describe("bad input: credentials by shape (section 1)", () => {
    it.each<[string, () => WireRequest]>([
      ["a project named ak_tower", () => ({ method: "POST", path: PROJECTS, key: K.vault, json: { name: unique("ak_tower"), project_type: "commercial", description: "ak_live_ is not a key" } })],
      ["User-Agent: ak_sdk/1.0", () => ({ path: ME, key: K.main, headers: [["User-Agent", "ak_sdk/1.0 (node 20.19.0)"]] })],
      ["X-Request-Id: ak_123", () => ({ path: ME, key: K.main, headers: [["X-Request-Id", "ak_123"]] })],
      ["?token=page2", () => ({ path: `${PROJECTS}?token=page2&api_key=1&key=abc`, key: K.vault })],
      ["a cookie auth=1", () => ({ path: ME, key: K.main, headers: [["Cookie", "auth=1; token=abc; _ga=GA1.2.1234567890.1234567890"]] })],
      ["a key one character too long", () => ({ path: `${ME}?q=${K.main}x`, key: K.main })],
      ["dotted values that are no JWT", () => ({ path: ME, key: K.main, headers: [["X-Forwarded-Host", "api.eu-west-1.example.com"], ["X-Trace", "a.b.c"]] })],
      ["ak_ values on /healthz", () => ({ path: "/healthz?token=page2", headers: [["X-Request-Id", "ak_123"], ["Cookie", "auth=1"]] })],
    ])("lets %s through", async (_name, make) => {
      const res = await c().send(make());
      expect(res.status, show(res)).toBeLessThan(400);
    });

    it("finds a key nested in a JSON body, in an array, as a bare JSON string and as a member name, with a JSON Pointer", async () => {
      const nested = await c().send({ method: "POST", path: PROJECTS, key: K.vault, json: { name: "x", project_type: "commercial", meta: { api_key: K.vault } } });
      expectExposed(nested, K.vault, { location: "body", parameter: "/meta/api_key" });
      expectExposed(await c().send({ method: "POST", path: PROJECTS, key: K.vault, json: { name: "x", tags: ["a", K.vault] } }), K.vault, { location: "body", parameter: "/tags/1" });
      expectExposed(await c().send({ method: "POST", path: PROJECTS, json: K.vault }), K.vault, { location: "body", parameter: "" });
      expectExposed(await c().send({ method: "POST", path: PROJECTS, key: K.vault, json: { [K.vault]: 1 } }), K.vault, { location: "body", parameter: "/[redacted]" });
      expectExposed(await c().send({ method: "POST", path: PROJECTS, key: K.vault, json: { note: `Bearer ${JWT}` } }), JWT, { location: "body", parameter: "/note" });
    });

    it("finds a key in the raw text of a body that is not JSON or not valid JSON, any media type, any method", async () => {
      for (const [method, type, body] of [
        ["POST", "text/plain", `my key: ${K.vault}`],
        ["GET", "text/plain", `my key: ${K.vault}`],
        ["DELETE", "application/xml", `<key>${K.vault}</key>`],
        ["POST", "application/json", `{"name": "x", "api_key": "${K.vault}"`],
        ["PATCH", "application/octet-stream", `\u0000${K.vault}\u0001`],
      ] as const) {
        if (method === "GET" && !raw) {
          unread(await c().send({ method, path: PROJECTS, headers: [["Content-Type", type]], body }));
          continue;
        }
        const res = await c().send({ method, path: method === "GET" ? PROJECTS : method === "POST" ? PROJECTS : `${PROJECTS}/${randomUUID()}`, headers: [["Content-Type", type]], body });
        expectExposed(res, K.vault, { location: "body" });
        expect(res.body.parameter, `${method} ${type}`).toBeUndefined();
      }
    });

    it("finds a key or a JWT in a query parameter of any name, any cookie and any header", async () => {
      expectExposed(await c().get(`${PROJECTS}?limit=1&filter_x9=${K.vault}`, K.vault), K.vault, { location: "query", parameter: "filter_x9" });
      expectExposed(await c().get(`${PROJECTS}?next=${encodeURIComponent(`Bearer ${K.vault}`)}`), K.vault, { location: "query", parameter: "next" });
      expectExposed(await c().get(`${ME}?id_token=${JWT}`, K.main), JWT, { location: "query", parameter: "id_token" });
      expectExposed(await c().get(ME, K.main, [["Cookie", `theme=dark; prefs=${K.main}`]]), K.main, { location: "cookie", parameter: "prefs" });
      expectExposed(await c().get(ME, K.main, [["Cookie", `session=${JWT}`]]), JWT, { location: "cookie", parameter: "session" });
      expectExposed(await c().get(ME, K.main, [["X-Request-Id", K.main]]), K.main, { location: "header", parameter: "x-request-id" });
      expectExposed(await c().get(ME, K.main, [["X-Upstream-Token", `Bearer ${JWT}`]]), JWT, { location: "header", parameter: "x-upstream-token" });
    });

    it.each(["/healthz", "/console", "/console/app.js"])("screens %s: query, cookie, header and body", async (path) => {
      expectExposed(await c().get(`${path}?k=${K.main}`), K.main, { location: "query", parameter: "k" });
      expectExposed(await c().get(path, undefined, [["Cookie", `k=${K.main}`]]), K.main, { location: "cookie", parameter: "k" });
      expectExposed(await c().get(path, undefined, [["X-Api-Key", K.main]]), K.main, { location: "header", parameter: "x-api-key" });
      expectExposed(await c().send({ method: bodyMethod, path, headers: [["Content-Type", "application/json"]], body: JSON.stringify({ meta: { api_key: K.main } }) }), K.main, { location: "body", parameter: "/meta/api_key" });
      expectExposed(await c().send({ method: bodyMethod, path, headers: [["Content-Type", "text/plain"]], body: K.main }), K.main, { location: "body" });
      const clean = await c().get(path);
      expect(clean.status, show(clean)).toBe(200);
    });

    it("reads and scans the body of a request to a route that does not exist or with a wrong method", async () => {
      const json = [["Content-Type", "application/json"]] as const;
      expectExposed(await c().send({ method: "POST", path: "/api/v2/nope", headers: json, body: JSON.stringify({ meta: { api_key: K.main } }) }), K.main, { location: "body", parameter: "/meta/api_key" });
      expectExposed(await c().send({ method: "PUT", path: ME, headers: [["Content-Type", "text/plain"]], body: `key=${K.main}` }), K.main, { location: "body" });
      expectExposed(await c().send({ method: "POST", path: "/nowhere", headers: json, body: JSON.stringify(K.main) }), K.main, { location: "body", parameter: "" });
      expectProblem(await c().send({ method: "POST", path: "/api/v2/nope", headers: json, body: '{"name":"ak_tower"}' }), "not_found");
    });
  });

  describe("bad input: credentials in any form of the target, names and bodies (section 1)", () => {
    const spacedJwt = `${Buffer.from('{ "alg": "RS256" }').toString("base64url")}.${Buffer.from('{"sub":"x"}').toString("base64url")}.c2ln`;
    const escapedKey = (key: string) => `%61${key.slice(1)}`;

    it("never echoes a key found raw but glued to an escaped character once decoded, as a query, cookie or form field name", async () => {
      const name = `${K.main}%30`;
      expectExposed(await c().get(`/healthz?${name}=1`), K.main, { location: "query", parameter: "[redacted]0" });
      expectExposed(await c().get("/healthz", undefined, [["Cookie", `${name}=1`]]), K.main, { location: "cookie", parameter: "[redacted]0" });
      const form = await c().send({ method: bodyMethod, path: "/healthz", headers: [["Content-Type", "application/x-www-form-urlencoded"]], body: `${name}=1` });
      expectExposed(form, K.main, { location: "body", parameter: "[redacted]0" });
    });

    it("finds a key anywhere in the request target: absolute form without a path, fragment, userinfo", async () => {
      expectExposed(await c().get(`http://x?x=${K.main}`), K.main, { location: "query", parameter: "x" });
      expectExposed(await c().get(`/healthz#${K.main}`), K.main, { location: "path" });
      if (seesUserinfo(variant)) expectExposed(await c().get(`http://${K.main}@x/healthz`), K.main, { location: "path" });
      expectExposed(await c().get(`${ME}#${K.main}`, K.main), K.main, { location: "path" });
    });

    it("answers 400 location path for a key or a JWT in the path, escaped or not, on unknown paths and capability routes", async () => {
      expectExposed(await c().get(`/x/${K.main}`), K.main, { location: "path" });
      expectExposed(await c().get(`/x/${escapedKey(K.main)}`), K.main.slice(1), { location: "path" });
      expectExposed(await c().get(`/x/${spacedJwt}`), spacedJwt, { location: "path" });
      expectExposed(await c().get(`${PROJECTS}/${K.vault}`, K.vault), K.vault, { location: "path" });
      expectExposed(await c().send({ method: "DELETE", path: `${PROJECTS}/${escapedKey(K.vault)}`, key: K.vault }), K.vault.slice(1), { location: "path" });
      // Nothing shaped like a credential: still the 404.
      expectProblem(await c().get("/x/ak_tower/eyJ.x"), "not_found");
    });

    it("finds a JWT glued after - or _ as a key is, lets a double-encoded key through, and decodes JSON escapes in a body that is not valid JSON", async () => {
      expectExposed(await c().get(`${ME}?x=a-${JWT}`, K.main), JWT, { location: "query", parameter: "x" });
      expectExposed(await c().get(`${ME}?x=jwt_${JWT}`, K.main), JWT, { location: "query", parameter: "x" });
      const double = await c().get(`${ME}?x=%25%36%31${K.main.slice(1)}`, K.main);
      expect(double.status, show(double)).toBe(200);
      const escaped = await c().send({ method: "POST", path: PROJECTS, headers: [["Content-Type", "application/json"]], body: `{"k": "\\u0061${K.vault.slice(1)}"` });
      expectExposed(escaped, K.vault.slice(1), { location: "body" });
    });

    it("accepts every WHATWG label of UTF-8 as the charset of JSON", async () => {
      for (const label of ["UTF8", "utf8", '"unicode-1-1-utf-8"']) {
        const body = JSON.stringify({ name: unique("utf8-label"), project_type: "commercial" });
        const res = await c().send({ method: "POST", path: PROJECTS, key: K.vault, headers: [["Content-Type", `application/json;charset=${label}`]], body });
        expect(res.status, `${label}: ${show(res)}`).toBe(201);
      }
    });

    it("answers adversarial bodies of about 1 MB in one linear pass (within the normal timeout)", async () => {
      const header = Buffer.from('{"alg":0}').toString("base64url");
      const formType = [["Content-Type", "application/x-www-form-urlencoded"]] as const;
      // Where GET bodies are dropped (Bun, Deno), the same bodies go to an unknown route with POST.
      const form = await c().send({ method: raw ? "GET" : "POST", path: raw ? "/healthz" : "/nope", headers: formType, body: `${`${header}.. `.repeat(69_000)}=1` });
      expectProblem(form, "credential_location_not_allowed", { location: "body" });
      expect(String(form.body.parameter).length, show(form)).toBeLessThanOrEqual(201);
      const member = await c().send({ method: "POST", path: "/nope", headers: [["Content-Type", "application/json"]], body: JSON.stringify({ [`${K.main} `.repeat(11_000)]: 1 }) });
      expectExposed(member, K.main, { location: "body" });
      const nearJwts = await c().send({ method: raw ? "GET" : "POST", path: raw ? "/healthz" : "/nope", headers: [["Content-Type", "text/plain"]], body: `e${"A".repeat(11)}.`.repeat(80_000) });
      expect(nearJwts.status, show(nearJwts)).toBe(raw ? 200 : 404);
    });
  });
}

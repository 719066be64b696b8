import { describe, expect, it } from "vitest";
import { defineCapabilities, defineCapability } from "../capabilities";
import { isPolicyError } from "../problems";
import { createTestPolicy } from "../testing";
import { createHttpGate, incomingFromFetch, isFormMediaType, isJsonMediaType, readJsonBody, readRequestBody, splitTarget } from "./index";
import { isProblemError } from "../problems";

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe("isJsonMediaType", () => {
  it("accepts application/json and +json with a UTF-8 charset or none", () => {
    for (const t of ["application/json", "Application/JSON; charset=utf-8", 'application/json;charset="UTF-8"', "application/merge-patch+json"]) {
      expect(isJsonMediaType(t), t).toBe(true);
    }
    for (const t of [undefined, "text/plain", "application/json; charset=latin1", "application/jsonx", "multipart/form-data"]) {
      expect(isJsonMediaType(t), String(t)).toBe(false);
    }
  });

  it("accepts every WHATWG label of UTF-8, any case, quoted or not, and no other charset", () => {
    for (const label of ["utf-8", "UTF8", "utf8", '"Utf8"', "unicode-1-1-utf-8", "UNICODE11UTF8", "unicode20utf8", "x-unicode20utf8"]) {
      expect(isJsonMediaType(`application/json;charset=${label}`), label).toBe(true);
    }
    for (const label of ["utf-16", "utf-8x", "utf_8", "us-ascii", '"utf8', "unicode"]) expect(isJsonMediaType(`application/json; charset=${label}`), label).toBe(false);
  });
});

describe("isProblemError", () => {
  it("recognises a ProblemError from another copy of the package, and nothing else", async () => {
    const { ProblemError } = await import("../problems");
    const foreign = Object.assign(new Error("x"), { name: "ProblemError", code: "not_found", detail: "x" });
    expect(isProblemError(new ProblemError("not_found", "x"))).toBe(true);
    expect(isProblemError(foreign)).toBe(true);
    expect(isProblemError(Object.assign(new Error("x"), { name: "ProblemError", code: "teapot", detail: "x" }))).toBe(false);
    expect(isProblemError({ name: "ProblemError", code: "not_found", detail: "x" })).toBe(false);
    expect(isProblemError(new Error("x"))).toBe(false);
  });
});

describe("splitTarget", () => {
  it("splits request targets and absolute URLs into path and raw query", () => {
    expect(splitTarget("/a/b?x=1&y=2")).toEqual({ path: "/a/b", query: "x=1&y=2" });
    expect(splitTarget("http://h:1/a?q#frag")).toEqual({ path: "/a", query: "q" });
    expect(splitTarget("http://h:1")).toEqual({ path: "/", query: "" });
    expect(splitTarget("/only")).toEqual({ path: "/only", query: "" });
    // An absolute-form target without a path keeps its query.
    expect(splitTarget("http://x?x=1")).toEqual({ path: "/", query: "x=1" });
    expect(splitTarget("http://x#f?y")).toEqual({ path: "/", query: "" });
    expect(splitTarget("http://u:p@x/a?b")).toEqual({ path: "/a", query: "b" });
  });
});

describe("readJsonBody", () => {
  const json = ["Content-Type", "application/json", "Transfer-Encoding", "chunked"];
  it("parses JSON, keeps text that does not parse as rawBody, and reads an empty body as none", async () => {
    expect(await readJsonBody("POST", json, chunks('{"a":', "1}"))).toEqual({ body: { a: 1 } });
    expect(await readJsonBody("POST", json, chunks("{nope"))).toEqual({ rawBody: "{nope" });
    expect(await readJsonBody("POST", json, chunks())).toEqual({});
    expect(await readJsonBody("POST", ["Transfer-Encoding", "chunked"], chunks())).toEqual({});
    expect(await readJsonBody("POST", ["Content-Length", "0"], chunks("ignored"))).toEqual({});
  });

  it("answers 413 payload_too_large from Content-Length or from the bytes read", async () => {
    const declared = await readJsonBody("POST", ["Content-Type", "application/json", "Content-Length", "11"], chunks("{}"), { limitBytes: 10 });
    expect(isPolicyError(declared) && declared.code).toBe("payload_too_large");
    const streamed = await readJsonBody("POST", json, chunks('{"a":"', "x".repeat(20), '"}'), { limitBytes: 10 });
    expect(isPolicyError(streamed) && streamed.code).toBe("payload_too_large");
  });

  it("answers 415 unsupported_media_type for a non-JSON body on POST, PUT and PATCH only", async () => {
    const form = ["Content-Type", "application/x-www-form-urlencoded", "Content-Length", "3"];
    for (const m of ["POST", "PUT", "PATCH"]) {
      const r = await readJsonBody(m, form, chunks("a=1"));
      expect(isPolicyError(r) && r.code, m).toBe("unsupported_media_type");
    }
    expect(await readJsonBody("DELETE", form, chunks("a=1"))).toEqual({});
    const untyped = await readJsonBody("POST", ["Content-Length", "3"], chunks("a=1"));
    expect(isPolicyError(untyped) && untyped.code).toBe("unsupported_media_type");
  });
});

describe("readRequestBody", () => {
  const form = (length: number) => ["Content-Type", "application/x-www-form-urlencoded; charset=utf-8", "Content-Length", String(length)];

  it("recognises form-urlencoded bodies by their media type", () => {
    expect(isFormMediaType("application/x-www-form-urlencoded")).toBe(true);
    expect(isFormMediaType("Application/X-WWW-Form-Urlencoded; charset=UTF-8")).toBe(true);
    expect(isFormMediaType("multipart/form-data")).toBe(false);
    expect(isFormMediaType(undefined)).toBe(false);
  });

  it("keeps a form body's text for the credential check and answers 415 on POST", async () => {
    const r = await readRequestBody("POST", form(19), chunks("a=1&api_key=ak_x%2B"));
    expect(r).toEqual({ text: "a=1&api_key=ak_x%2B", form: true, problem: expect.objectContaining({ code: "unsupported_media_type" }) });
  });

  it("reads a body on GET whatever its type: its text for the check, JSON as the body", async () => {
    expect(await readRequestBody("GET", form(9), chunks("api_key=x"))).toEqual({ text: "api_key=x", form: true });
    expect(await readRequestBody("GET", ["Content-Type", "text/plain", "Content-Length", "3"], chunks("a=1"))).toEqual({ text: "a=1" });
    expect(await readRequestBody("DELETE", ["Content-Length", "3"], chunks("a", "=1"))).toEqual({ text: "a=1" });
    expect(await readRequestBody("GET", ["Content-Type", "application/json", "Content-Length", "7"], chunks('{"a":1}'))).toEqual({ body: { a: 1 } });
  });

  it("answers 400 invalid_body for JSON that is not valid UTF-8, keeping its text for the check", async () => {
    const json = ["Content-Type", "application/json", "Transfer-Encoding", "chunked"];
    for (const bad of [[0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xc3]]) {
      const r = await readRequestBody("POST", json, (async function* () { yield new Uint8Array(bad); })());
      expect(r.problem?.code).toBe("invalid_body");
      expect(r.problem?.detail).toMatch(/UTF-8/);
      expect(r.body).toBeUndefined();
      expect(r.text).toContain("\ufffd");
    }
    // A character split across chunks is still one character.
    const split = await readRequestBody("POST", json, (async function* () { yield new Uint8Array([0x22, 0xc3]); yield new Uint8Array([0xa9, 0x22]); })());
    expect(split).toEqual({ body: "é" });
    const r = await readJsonBody("PATCH", json, (async function* () { yield new Uint8Array([0x7b, 0xff, 0x7d]); })());
    expect(isPolicyError(r) && r.code).toBe("invalid_body");
  });

  it("answers 413 for any media type over the cap", async () => {
    const r = await readRequestBody("GET", ["Content-Type", "text/plain", "Transfer-Encoding", "chunked"], chunks("x".repeat(11)), { limitBytes: 10 });
    expect(r.problem?.code).toBe("payload_too_large");
  });
});

describe("createHttpGate", () => {
  const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
  const create = defineCapability({ id: "things.create", method: "POST", path: "/things", cost: 1, idempotent: true });
  const set = defineCapabilities([whoami, create]);

  it("screens the whole request target: an absolute-form query, a fragment, userinfo, the path", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    for (const [url, extensions] of [
      [`http://x?x=${key}`, { location: "query", parameter: "x" }],
      [`/healthz#${key}`, { location: "path" }],
      [`http://${key}@x/healthz`, { location: "path" }],
      [`/x/${key}`, { location: "path" }],
    ] as const) {
      const screened = await gate.screen({ method: "GET", url, headers: [] });
      expect(screened.kind === "respond" && screened.response.status, url).toBe(400);
      if (screened.kind === "respond") {
        expect(JSON.parse(String(screened.response.body)), url).toMatchObject({ code: "credential_location_not_allowed", ...extensions });
        expect(JSON.stringify(screened.response), url).not.toContain(key);
      }
      const entered = await gate.enter({ method: "GET", url: url.replace("/healthz", "/api/v2/me"), headers: ["Authorization", `Bearer ${key}`] }, whoami);
      expect(entered.kind === "respond" && entered.response.status, url).toBe(400);
    }
  });

  it("refuses a bad bodyLimitBytes when created", () => {
    const t = createTestPolicy();
    expect(() => createHttpGate({ policy: t.policy, bodyLimitBytes: -1 })).toThrow(/bodyLimitBytes/);
  });

  it("continues with the principal and the parsed body, or responds with the policy's problem", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const ok = await gate.enter(
      { method: "post", url: "http://x/things?a=1", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Content-Length", "7"], body: chunks('{"a":1}') },
      create,
    );
    expect(ok.kind).toBe("continue");
    if (ok.kind === "continue") {
      expect(ok.request).toMatchObject({ method: "POST", path: "/things", query: "a=1", body: { a: 1 } });
      expect(ok.decision.principal.auth_method).toBe("api_key");
    }
    const no = await gate.enter({ method: "GET", url: "/api/v2/me", headers: [] }, whoami);
    expect(no.kind === "respond" && no.response.status).toBe(401);
  });

  it("judges the bytes a framework's own capped reader took, and its over-the-cap signal, as its own read", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 100 });
    const { key } = await t.mintKey();
    const headers = ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Content-Length", "7"];
    const bytes = await gate.enter({ method: "POST", url: "/things", headers, body: Buffer.from('{"a":1}') }, create);
    expect(bytes.kind === "continue" && bytes.request.body).toEqual({ a: 1 });
    const broken = await gate.enter({ method: "POST", url: "/things", headers, body: Buffer.from("{nope") }, create);
    expect(broken.kind === "continue" && broken.request.rawBody).toBe("{nope");
    const over = await gate.enter({ method: "POST", url: "/things", headers, bodyOverLimit: true }, create);
    expect(over.kind === "respond" && JSON.parse(over.response.body)).toMatchObject({ status: 413, code: "payload_too_large", limit_bytes: 100 });
    const exposed = await gate.enter({ method: "POST", url: "/things", headers: [...headers, "X-API-Key", key], bodyOverLimit: true }, create);
    expect(exposed.kind === "respond" && JSON.parse(exposed.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
    const form = await gate.enter({ method: "POST", url: "/things", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "text/plain", "Content-Length", "3"], body: Buffer.from("a=1") }, create);
    expect(form.kind === "respond" && form.response.status).toBe(415);
    const big = await gate.enter({ method: "POST", url: "/things", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Transfer-Encoding", "chunked"], body: Buffer.alloc(101, 0x20) }, create);
    expect(big.kind === "respond" && big.response.status).toBe(413);
  });

  it("renders a thrown ProblemError below 500 as the handler's answer and anything else as a bare 500", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 100 });
    const { ProblemError } = await import("../problems");
    const problem = gate.fail(new ProblemError("validation_failed", "bad", { errors: [] }));
    expect(problem.status).toBe(422);
    expect(problem.headers["content-type"]).toBe("application/problem+json");
    const crash = gate.fail(new Error("db password is hunter2"));
    expect(crash.status).toBe(500);
    expect(crash.body).not.toContain("hunter2");
    expect(JSON.parse(crash.body).code).toBe("internal_error");
  });

  it("checks the credential location before a 413 or 415 and answers that problem first", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 100 });
    const { key } = await t.mintKey();
    const auth = ["Authorization", `Bearer ${key}`];
    const enter = async (url: string, headers: string[], body: string, method = "POST") => {
      const r = await gate.enter({ method, url, headers: [...auth, ...headers, "Content-Length", String(Buffer.byteLength(body))], body: chunks(body) }, create);
      return r.kind === "respond" ? (JSON.parse(r.response.body) as Record<string, unknown>) : null;
    };
    const formType = ["Content-Type", "application/x-www-form-urlencoded"];
    expect(await enter("/things", formType, `name=x&api_key=${key}`)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "api_key" });
    expect(await enter("/things", formType, `name=x&name=${key}`)).toMatchObject({ code: "credential_location_not_allowed", location: "body", parameter: "name" });
    expect(await enter("/things", formType, "name=x")).toMatchObject({ code: "unsupported_media_type" });
    expect(await enter(`/things?api_key=${key}`, ["Content-Type", "text/plain"], "x")).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    expect(await enter("/things", ["Content-Type", "application/json", "X-API-Key", key], JSON.stringify({ x: "y".repeat(120) }))).toMatchObject({
      code: "credential_location_not_allowed",
      location: "header",
    });
    expect(await enter("/things", ["Content-Type", "application/json"], JSON.stringify({ x: "y".repeat(120) }))).toMatchObject({ code: "payload_too_large" });
    // A form body on a method without one: judged, then not the handler's body.
    expect(await enter("/api/v2/me", formType, `api_key=${key}`, "GET")).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
    const ok = await gate.enter({ method: "GET", url: "/api/v2/me", headers: [...auth, ...formType, "Content-Length", "3"], body: chunks("a=1") }, whoami);
    expect(ok.kind === "continue" && ok.request.body).toBeUndefined();
    expect(ok.kind).toBe("continue");
  });

  it("uses the policy's transport options for the checks it makes itself", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
    const t = createTestPolicy({ transport: { ignoredHeaders: ["x-proxy-jwt"] } });
    const gate = createHttpGate({ policy: t.policy });
    const missing = await createHttpGate({ policy: t.policy, capabilities: set }).unmatched({ method: "GET", url: "/nope", headers: ["X-Proxy-Jwt", jwt] });
    expect(missing.status).toBe(404);
    const screened = await gate.screen({ method: "GET", url: "/healthz", headers: ["X-Proxy-Jwt", jwt, "X-Other", jwt] });
    expect(screened.kind === "respond" && JSON.parse(screened.response.body)).toMatchObject({ code: "credential_location_not_allowed", parameter: "x-other" });
    expect(() => createTestPolicy({ transport: { ignoredHeaders: [1 as unknown as string] } })).toThrow(/transport\.ignoredHeaders/);
  });

  it("answers 400 invalid_body for JSON that is not valid UTF-8, after the credential-location check", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const bytes = (b: number[]) => (async function* () { yield new Uint8Array(b); })();
    const headers = ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Content-Length", "5"];
    const bad = await gate.enter({ method: "POST", url: "/things", headers, body: bytes([0x7b, 0x22, 0xff, 0x22, 0x7d]) }, create);
    expect(bad.kind === "respond" && bad.response.status).toBe(400);
    expect(bad.kind === "respond" && JSON.parse(bad.response.body)).toMatchObject({ code: "invalid_body" });
    expect(bad.kind === "respond" && bad.response.headers["ratelimit"]).toBeUndefined(); // answered before the bucket
    const keyInside = [...Buffer.from(`{"k":"${key}`), 0xff, 0x22, 0x7d];
    const exposed = await gate.enter({ method: "POST", url: "/things", headers: [...headers.slice(0, 4), "Content-Length", String(keyInside.length)], body: bytes(keyInside) }, create);
    expect(exposed.kind === "respond" && JSON.parse(exposed.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
  });

  it("finds a credential in the raw text of a body of any media type and any method", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const body = (text: string) => ({ headers: ["Authorization", `Bearer ${key}`, "Content-Length", String(Buffer.byteLength(text))], body: chunks(text) });
    for (const [method, type, text] of [
      ["GET", "text/plain", `my key is ${key}`],
      ["DELETE", "application/xml", `<key>${key}</key>`],
      ["POST", "application/json", `{"meta": {"api_key": "${key}"`],
      ["POST", "application/octet-stream", `\u0000\u0001${key}\u0002`],
    ] as const) {
      const r = await gate.enter({ method, url: "/things", ...body(text), headers: [...body(text).headers, "Content-Type", type] }, method === "GET" ? whoami : create);
      expect(r.kind === "respond" && JSON.parse(r.response.body), `${method} ${type}`).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
    }
    const nested = await gate.enter({ method: "GET", url: "/api/v2/me", ...body(JSON.stringify({ meta: [{ api_key: key }] })), headers: [...body(JSON.stringify({ meta: [{ api_key: key }] })).headers, "Content-Type", "application/json"] }, whoami);
    expect(nested.kind === "respond" && JSON.parse(nested.response.body)).toMatchObject({ location: "body", parameter: "/meta/0/api_key" });
    const plain = await gate.enter({ method: "GET", url: "/api/v2/me", ...body("nothing here"), headers: [...body("nothing here").headers, "Content-Type", "text/plain"] }, whoami);
    expect(plain.kind).toBe("continue");
  });

  it("answers 404 for a path that does not decode, after the credential-location check", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const bad = await gate.enter({ method: "GET", url: "/things/%E0%A4%A", headers: ["Authorization", `Bearer ${key}`] }, whoami);
    expect(bad.kind === "respond" && bad.response.status).toBe(404);
    expect(bad.kind === "respond" && JSON.parse(bad.response.body)).toMatchObject({ code: "not_found", detail: "No resource at /things/%E0%A4%A." });
    expect(bad.kind === "respond" && bad.response.headers["ratelimit"]).toBeUndefined(); // no tokens taken
    const exposed = await gate.enter({ method: "GET", url: `/things/%E0%A4%A?token=${key}`, headers: [] }, whoami);
    expect(exposed.kind === "respond" && JSON.parse(exposed.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    const inBody = await gate.enter({ method: "POST", url: "/things/%E0%A4%A", headers: ["Content-Type", "text/plain", "Content-Length", "46"], body: chunks(key) }, create);
    expect(inBody.kind === "respond" && JSON.parse(inBody.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
  });

  it("screens the query, cookies, headers and body of an unmatched request before its 404 or 405", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, capabilities: set });
    const bare = createHttpGate({ policy: t.policy });
    const { key } = await t.mintKey();
    const problem = async (r: Promise<{ body: string }>) => JSON.parse((await r).body) as Record<string, unknown>;
    expect(await problem(gate.unmatched({ method: "GET", url: `/nope?api_key=${key}`, headers: [] }))).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
    expect(await problem(gate.unmatched({ method: "PUT", url: "/api/v2/me", headers: ["Cookie", `a=${key}`] }))).toMatchObject({ location: "cookie" });
    expect(await problem(gate.unmatched({ method: "GET", url: "/nope", headers: [], cookies: { api_key: key } }))).toMatchObject({ location: "cookie" });
    expect(await problem(gate.unmatched({ method: "DELETE", url: "/things", headers: ["X-API-Key", key] }))).toMatchObject({ location: "header" });
    const json = ["Content-Type", "application/json", "Content-Length", String(key.length + 2)];
    expect(await problem(gate.unmatched({ method: "POST", url: "/nope", headers: json, body: chunks(JSON.stringify(key)) }))).toMatchObject({ location: "body", parameter: "" });
    expect(await problem(bare.unmatched({ method: "POST", url: "/nope", headers: ["Content-Length", "46"], body: chunks(key) }))).toMatchObject({ location: "body" });
    const clean = await gate.unmatched({ method: "DELETE", url: "/things?token=page2", headers: ["Authorization", `Bearer ${key}`, "Cookie", "auth=1"] });
    expect(clean.status).toBe(405);
  });

  it("works with a policy object of the user's own that has no checkCredentialLocation, checking with the default options", async () => {
    const { policy } = createTestPolicy();
    const wrapper = { ...policy, decide: policy.decide, reject: policy.reject } as Partial<typeof policy>;
    delete wrapper.checkCredentialLocation;
    const gate = createHttpGate({ policy: wrapper as typeof policy, capabilities: set });
    expect((await gate.unmatched({ method: "GET", url: "/nope", headers: [] })).status).toBe(404);
    const screened = await gate.screen({ method: "GET", url: "/healthz?api_key=ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo40", headers: [] });
    expect(screened.kind === "respond" && JSON.parse(screened.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
  });

  it("rejects, never throws, for a malformed IncomingRequest", async () => {
    const gate = createHttpGate({ policy: createTestPolicy().policy });
    const entered = gate.enter({ url: "/api/v2/me", headers: [] } as never, whoami);
    expect(entered).toBeInstanceOf(Promise);
    await expect(entered).rejects.toThrow(TypeError);
  });

  it("answers unmatched requests with 404, or 405 and Allow", async () => {
    const policy = createTestPolicy().policy;
    const gate = createHttpGate({ policy, capabilities: set });
    expect((await gate.unmatched({ method: "GET", url: "/nope", headers: [] })).status).toBe(404);
    expect((await createHttpGate({ policy }).unmatched({ method: "GET", url: "/things", headers: [] })).status).toBe(404);
    const wrong = await gate.unmatched({ method: "delete", url: "/things", headers: [] });
    expect(wrong.status).toBe(405);
    expect(wrong.headers["allow"]).toBe("POST");
  });

  it("screens a route outside the policy: a misplaced credential is 400, a body over the cap 413, anything else goes on with the body as read", async () => {
    const t = createTestPolicy();
    const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 64 });
    const { key } = await t.mintKey();
    const screen = (url: string, headers: string[], body?: string) =>
      gate.screen({ method: "GET", url, headers: body === undefined ? headers : [...headers, "Content-Length", String(Buffer.byteLength(body))], ...(body === undefined ? {} : { body: chunks(body) }) });
    const ok = await screen("/healthz?token=page2", ["User-Agent", "ak_sdk/1.0", "X-Request-Id", "ak_123", "Cookie", "auth=1"]);
    expect(ok).toMatchObject({ kind: "continue", request: { method: "GET", path: "/healthz", query: "token=page2" } });
    const json = await screen("/healthz", ["Content-Type", "application/json"], '{"name":"ak_tower"}');
    expect(json).toMatchObject({ kind: "continue", request: { body: { name: "ak_tower" } } });
    for (const [url, headers, body, location] of [
      [`/healthz?next=${key}`, [], undefined, "query"],
      ["/console", ["Cookie", `k=${key}`], undefined, "cookie"],
      ["/console", ["X-Request-Id", key], undefined, "header"],
      ["/console", ["Content-Type", "text/plain"], key, "body"],
    ] as const) {
      const r = await screen(url, [...headers], body);
      expect(r.kind === "respond" && JSON.parse(r.response.body), `${location}`).toMatchObject({ code: "credential_location_not_allowed", location });
      expect(r.kind === "respond" && r.response.body).not.toContain(key);
    }
    const big = await screen("/healthz", ["Content-Type", "text/plain"], "x".repeat(65));
    expect(big.kind === "respond" && big.response.status).toBe(413);
    const notUtf8 = await gate.screen({ method: "GET", url: "/healthz", headers: ["Content-Type", "application/json", "Content-Length", "3"], body: (async function* () { yield new Uint8Array([0x22, 0xff, 0x22]); })() });
    expect(notUtf8.kind).toBe("continue"); // judged by the route, not the screen
  });
});

describe("gate trailers", () => {
  const me = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });

  it("refuses a credential in a trailer field, an Authorization trailer included, and serves one without", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ scopes: [] });
    const gate = createHttpGate({ policy: t.policy });
    const headers = ["Host", "x", "Authorization", `Bearer ${key}`, "Transfer-Encoding", "chunked", "Content-Type", "text/plain"];
    const enter = (trailers: string[]) => gate.enter({ method: "POST", url: "/api/v2/me", headers, body: chunks("hello"), trailers: () => trailers }, me);
    for (const trailers of [["X-Api-Key", key], ["Authorization", `Bearer ${key}`], ["authorization", key]]) {
      const r = await enter(trailers);
      expect(r.kind, trailers[0]).toBe("respond");
      if (r.kind !== "respond") continue;
      expect(r.response.status).toBe(400);
      expect(JSON.parse(r.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
      expect(r.response.body).not.toContain(key);
    }
    // A trailer without a credential changes nothing: the body is judged as usual (text on POST: 415).
    const plain = await enter(["X-Checksum", "abc"]);
    expect(plain.kind === "respond" && JSON.parse(plain.response.body).code).toBe("unsupported_media_type");
  });

  it("refuses on the Fetch path a GET/HEAD body or trailers it cannot read, and serves the same request without them", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ scopes: [] });
    const gate = createHttpGate({ policy: t.policy, capabilities: defineCapabilities([me]) });
    const auth = { authorization: `Bearer ${key}` };
    // Fetch gives a GET or HEAD no body, whatever it announced: what it held cannot be screened.
    for (const method of ["GET", "HEAD"]) {
      for (const announced of [{ "content-length": "12" }, { "transfer-encoding": "chunked" }]) {
        const request = new Request("http://x/api/v2/me", { method, headers: { ...auth, ...announced } });
        expect(request.body).toBeNull();
        const incoming = incomingFromFetch(request);
        for (const r of [await gate.enter(incoming, me), { kind: "respond" as const, response: await gate.unmatched(incoming) }]) {
          expect(r.kind === "respond" && r.response.status, `${method} ${JSON.stringify(announced)}`).toBe(400);
          if (r.kind === "respond") expect(JSON.parse(r.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
        }
      }
    }
    const trailered = new Request("http://x/api/v2/me", { method: "POST", headers: { ...auth, trailer: "x-api-key", "content-type": "application/json" }, body: "{}" });
    const r = await gate.enter(incomingFromFetch(trailered), me);
    expect(r.kind === "respond" && JSON.parse(r.response.body)).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
    // Without them: served, and a Content-Length of 0 announces no body.
    for (const headers of [auth, { ...auth, "content-length": "0" }]) {
      expect((await gate.enter(incomingFromFetch(new Request("http://x/api/v2/me", { headers })), me)).kind).toBe("continue");
    }
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogue, isPolicyError, type PolicyError } from "../problems";
import { assertTransportOptions, checkBodyText, checkCredentialLocation, checkRequestTarget, credentialScanWork, findCredential, readBearer, scrubCredentials } from "./transport";
import type { PolicyRequest } from "../pipeline/request";

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

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"; // {"alg":"RS256"}.{"sub":"1"}.sig
const b64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");
const located = (r: PolicyRequest, options?: Parameters<typeof checkCredentialLocation>[1]) => {
  const e = checkCredentialLocation(r, options);
  return e === null ? null : { code: e.code, ...e.extensions };
};

describe("checkCredentialLocation", () => {
  it("refuses a key in the query string even beside a valid header, without echoing it", () => {
    const e = checkCredentialLocation(req(["Authorization", `Bearer ${KEY}`], { query: `api_key=${KEY}` })) as PolicyError;
    expect(e.code).toBe("credential_location_not_allowed");
    expect(e.extensions).toEqual({ location: "query", parameter: "api_key" });
    expect(e.detail).toMatch(/revoke it/);
    expect(JSON.stringify(e)).not.toContain(KEY);
  });

  it("finds a key or a JWT by its shape under any query name, escaped or not, and names the parameter", () => {
    expect(located(req([], { query: `limit=5&q=${KEY}` }))).toEqual({ code: "credential_location_not_allowed", location: "query", parameter: "q" });
    expect(located(req([], { query: `x=${JWT}` }))).toMatchObject({ location: "query", parameter: "x" });
    expect(located(req([], { query: `x=Bearer%20${JWT}` }))).toMatchObject({ location: "query", parameter: "x" });
    expect(located(req([], { query: `page%20token=ak%5Flive%5F${KEY.slice(8)}` }))).toMatchObject({ location: "query", parameter: "page token" });
    expect(located(req([], { query: `filter=name:${KEY},status:active` }))).toMatchObject({ location: "query", parameter: "filter" });
    expect(located(req([], { query: `${KEY}=1` }))).toMatchObject({ location: "query", parameter: "[redacted]" });
  });

  it("finds a key in any cookie and any header but Authorization", () => {
    expect(located(req(["Cookie", `session=abc; api_key=${KEY}`]))).toMatchObject({ location: "cookie", parameter: "api_key" });
    expect(located(req(["Cookie", `sid="${KEY}"`]))).toMatchObject({ location: "cookie", parameter: "sid" });
    expect(located(req(["Cookie", `sid=ak%5Flive%5F${KEY.slice(8)}`]))).toMatchObject({ location: "cookie", parameter: "sid" });
    expect(located(req(["Cookie", `jwt=${JWT}`]))).toMatchObject({ location: "cookie", parameter: "jwt" });
    expect(located(req([], { cookies: { prefs: KEY } }))).toMatchObject({ location: "cookie", parameter: "prefs" });
    expect(located(req(["X-API-Key", KEY]))).toEqual({ code: "credential_location_not_allowed", location: "header", parameter: "x-api-key" });
    expect(located(req(["X-Forwarded-Key", `Bearer ${KEY}`]))).toMatchObject({ location: "header", parameter: "x-forwarded-key" });
    expect(located(req(["X-Upstream", `token ${JWT}, more`]))).toMatchObject({ location: "header", parameter: "x-upstream" });
    expect(located(req([`X-${KEY}`, "1"]))).toMatchObject({ location: "header", parameter: "x-[redacted]" });
    expect(located(req([`X.${JWT}`, "1"]))).toMatchObject({ location: "header", parameter: "x.[redacted]" });
    expect(located(req(["Authorization", `Bearer ${KEY}`, "authorization", JWT]))).toBeNull();
  });

  it("finds a percent-encoded key or JWT in any header value (a Referer URL), even beside a broken escape", () => {
    const encoded = `ak%5Flive%5F${KEY.slice(8)}`;
    expect(located(req(["Referer", `https://x.example/?k=${encoded}`]))).toMatchObject({ location: "header", parameter: "referer" });
    expect(located(req(["Referer", `https://x.example/%E0%A4%A?k=${encoded}`]))).toMatchObject({ location: "header", parameter: "referer" });
    expect(located(req(["X-Origin-Url", `https://x.example/cb#t=${JWT.replace(/\./g, "%2E")}`]))).toMatchObject({ location: "header" });
    expect(located(req(["Referer", "https://x.example/?q=caf%C3%A9&k=ak%5Ftower"]))).toBeNull();
  });

  it("leaves out the headers a trusted proxy sets, and only those", () => {
    const options = { ignoredHeaders: ["Cf-Access-Jwt-Assertion"] };
    expect(located(req(["cf-access-jwt-assertion", JWT]), options)).toBeNull();
    expect(located(req(["cf-access-jwt-assertion", JWT, "X-Other", JWT]), options)).toMatchObject({ parameter: "x-other" });
    expect(located(req(["cf-access-jwt-assertion", JWT]))).toMatchObject({ parameter: "cf-access-jwt-assertion" });
    expect(() => assertTransportOptions({ ignoredHeaders: "x" })).toThrow(/transport\.ignoredHeaders/);
    expect(() => assertTransportOptions({ ignoredHeaders: [""] })).toThrow(/transport\.ignoredHeaders/);
    expect(() => assertTransportOptions({ ignoredHeaders: ["x-a"] })).not.toThrow();
  });

  it("finds a key at any depth of a JSON body, in an array, as a member name or as the whole body, and names it with a JSON Pointer", () => {
    expect(located(req([], { body: { meta: { api_key: KEY } } }))).toMatchObject({ location: "body", parameter: "/meta/api_key" });
    expect(located(req([], { body: { tags: ["a", `see ${KEY}`] } }))).toMatchObject({ parameter: "/tags/1" });
    expect(located(req([], { body: [KEY] }))).toMatchObject({ parameter: "/0" });
    expect(located(req([], { body: KEY }))).toMatchObject({ location: "body", parameter: "" });
    expect(located(req([], { body: { "a/b": { "c~d": JWT } } }))).toMatchObject({ parameter: "/a~1b/c~0d" });
    expect(located(req([], { body: { meta: { [KEY]: true } } }))).toMatchObject({ parameter: "/meta/[redacted]" });
    expect(located(req([], { body: new TextEncoder().encode(`raw ${KEY}`) }))).toMatchObject({ location: "body", parameter: "" });
    expect(located(req([], { rawBody: `{"api_key": "${KEY}"` }))).toEqual({ code: "credential_location_not_allowed", location: "body" });
  });

  it("walks 100,000 levels of a JSON body without overflowing the stack", () => {
    const depth = 100_000;
    const deep = JSON.parse('{"a":['.repeat(depth) + JSON.stringify(KEY) + "]}".repeat(depth));
    const e = located(req([], { body: deep })) as unknown as { parameter: string };
    expect(e).toMatchObject({ location: "body" });
    expect(e.parameter.startsWith("/a/0/a/0/")).toBe(true);
    expect(e.parameter.length).toBeLessThanOrEqual(201); // long pointers are cut
    expect(located(req([], { body: JSON.parse("[".repeat(depth) + "]".repeat(depth)) }))).toBeNull();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(located(req([], { body: cyclic }))).toBeNull();
  });

  it("finds a credential in the text of a body that is not JSON, and a form field by name", () => {
    expect(checkBodyText(`hello ${KEY}.`)?.extensions).toEqual({ location: "body" });
    expect(checkBodyText(`<token>${JWT}</token>`)?.extensions).toEqual({ location: "body" });
    expect(checkBodyText("plain text, nothing to see")).toBeNull();
    expect(checkBodyText(`a=1&note=${KEY}`, { form: true })?.extensions).toEqual({ location: "body", parameter: "note" });
    expect(checkBodyText(`a=1&n+b=ak%5Ftest%5F${KEY.slice(8)}`, { form: true })?.extensions).toEqual({ location: "body", parameter: "n b" });
    expect(checkBodyText("api_key=page2&token=x", { form: true })).toBeNull();
  });

  it.each([
    ["a query named token", { query: "token=page2&key=abc&api_key=1&access_token=x" }],
    ["a cursor", { query: "limit=10&cursor=eyJjcmVhdGVkX2F0IjoiMjAyNiJ9" }],
    ["a cookie auth=1", { headers: ["Cookie", "auth=1; token=abc; _ga=GA1.2.1234567890.1234567890"] }],
    ["a project named ak_tower", { body: { name: "ak_tower", description: "ak_live_ is our prefix", tags: ["ak_test_short"] } }],
    ["a User-Agent ak_sdk/1.0", { headers: ["User-Agent", "ak_sdk/1.0 (node 20.19.0; linux x64)"] }],
    ["an X-Request-Id ak_123", { headers: ["X-Request-Id", "ak_123"] }],
    ["a key one character too long", { body: { note: `${KEY}x` } }],
    ["a key glued to text before it", { query: `q=x${KEY}` }],
    ["a key with a character outside base62", { body: { note: `${KEY.slice(0, 20)}-${KEY.slice(21)}` } }],
    ["another environment", { body: { note: `ak_prod_${KEY.slice(8)}` } }],
    ["three dotted parts that are no JOSE header", { headers: ["X-Thing", `${b64url('{"typ":"JWT"}')}.${b64url("{}")}.c2ln`, "Host", "api.example.com"] }],
    ["a JSON array header", { headers: ["X-Thing", `${b64url('[{"alg":"RS256"}]')}.e30.c2ln`] }],
    ["real-world headers", {
      headers: [
        "Host", "service-name-internal.eu-west-1.example.com:8443",
        "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        "Referer", "https://console.example.com/keys?tab=active&sort=created_at.desc",
        "X-Forwarded-For", "203.0.113.7, 10.0.0.12",
        "If-None-Match", 'W/"5e2f09bb-9c1e.4e4e.bf97"',
        "Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "Idempotency-Key", "create-tower-2026-04-08",
      ],
    }],
  ])("lets %s through", (_name, extra) => {
    const { headers = [], ...rest } = extra as Partial<PolicyRequest>;
    expect(located(req(["Authorization", `Bearer ${KEY}`, ...headers], rest))).toBeNull();
  });
});

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const base62 = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...BASE62), minLength: min, maxLength: max });
const apiKey = fc.tuple(fc.constantFrom("live", "test"), base62(38, 38)).map(([env, body]) => `ak_${env}_${body}`);
const jwt = fc
  .tuple(
    fc.record({ alg: fc.constantFrom("RS256", "ES256", "EdDSA", "HS256", "none"), typ: fc.constantFrom("JWT", "at+jwt"), kid: fc.string({ maxLength: 20 }) }, { requiredKeys: ["alg"] }),
    fc.jsonValue({ maxDepth: 2 }),
    fc.uint8Array({ maxLength: 64 }),
    fc.boolean(),
  )
  .map(([header, claims, sig, spaced]) => `${b64url(spaced ? ` ${JSON.stringify(header)}` : JSON.stringify(header))}.${b64url(JSON.stringify(claims))}.${Buffer.from(sig).toString("base64url")}`);
const credential = fc.oneof(apiKey, jwt);
/** Text around a credential: any, but not glued to it (it ends and starts with a separator). */
const sep = fc.constantFrom(" ", "=", ":", ",", ";", "\"", "'", "/", "(", ")", "<", ">", "\n", "\t", "[", "]", "{", "}", "é", "\u2028");
const before = fc.tuple(fc.string({ maxLength: 12 }), sep).map(([s, c]) => s + c);
const after = fc.tuple(sep, fc.string({ maxLength: 12 })).map(([c, s]) => c + s);
const embedded = fc.tuple(fc.option(before, { nil: "" }), credential, fc.option(after, { nil: "" })).map(([a, c, b]) => ({ text: a + c + b, c }));
const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/);

describe("credential location under fuzzing: every credential is found", () => {
  it("in any query parameter value or name", () => {
    fc.assert(
      fc.property(embedded, name, fc.boolean(), fc.boolean(), ({ text, c }, n, asName, encode) => {
        const value = encode ? encodeURIComponent(text) : text.replace(/[&#%+=]/g, " ");
        const query = asName ? `${value}=1` : `limit=1&${n}=${value}`;
        const e = checkCredentialLocation(req([], { query }));
        expect(e?.extensions).toMatchObject({ location: "query" });
        expect(JSON.stringify(e)).not.toContain(c);
      }),
      { numRuns: 1500 },
    );
  });

  it("in any header but Authorization, and any cookie", () => {
    const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, " ");
    fc.assert(
      fc.property(embedded, name, fc.boolean(), ({ text, c }, n, inCookie) => {
        const value = headerSafe(text);
        fc.pre(value.includes(c));
        const headers = inCookie ? ["Cookie", `theme=dark; ${n}=${value.replace(/;/g, " ")}`] : [`X-${n}`, value];
        const e = checkCredentialLocation(req(["Accept", "*/*", ...headers]));
        expect(e?.extensions).toMatchObject(inCookie ? { location: "cookie", parameter: n } : { location: "header", parameter: `x-${n}` });
        expect(JSON.stringify(e)).not.toContain(c);
      }),
      { numRuns: 1500 },
    );
  });

  it("at any depth of a JSON body, as a value or a member name, and in the raw text of any body", () => {
    const path = fc.array(fc.oneof(fc.nat({ max: 3 }), fc.string({ maxLength: 6 })), { maxLength: 6 });
    fc.assert(
      fc.property(embedded, path, fc.boolean(), fc.jsonValue({ maxDepth: 2 }), ({ text, c }, steps, asKey, noise) => {
        let body: unknown = asKey ? { [text]: noise } : text;
        for (const step of [...steps].reverse()) {
          body = typeof step === "number" ? [...Array.from({ length: step }, () => noise), body] : { n: noise, [step]: body };
        }
        const e = checkCredentialLocation(req([], { body: JSON.parse(JSON.stringify(body)) }));
        expect(e?.extensions).toMatchObject({ location: "body" });
        expect(JSON.stringify(e)).not.toContain(c);
        expect(checkBodyText(JSON.stringify(body))?.extensions).toEqual({ location: "body" });
        expect(checkCredentialLocation(req([], { rawBody: JSON.stringify(body).slice(0, -1) }))?.extensions).toEqual({ location: "body" });
      }),
      { numRuns: 1500 },
    );
  });
});

describe("credential location under fuzzing: ordinary values are never flagged", () => {
  const notBase62 = fc.constantFrom("-", ".", "!", "~", "%", " ");
  const nearKey = fc.oneof(
    fc.tuple(fc.constantFrom("live", "test", "prod", "sdk", "tower", "LIVE"), base62(0, 60)).filter(([, b]) => b.length !== 38).map(([e, b]) => `ak_${e}_${b}`),
    fc.tuple(fc.constantFrom("live", "test"), base62(10, 37), notBase62, base62(0, 37)).map(([e, a, x, b]) => `ak_${e}_${a}${x}${b}`),
    fc.tuple(base62(1, 4), apiKey).map(([g, k]) => g + k),
    fc.tuple(apiKey, base62(1, 4)).map(([k, g]) => k + g),
    fc.string({ maxLength: 30 }).map((s) => `ak_${s}`),
  );
  const dotted = fc.oneof(
    fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/), { minLength: 2, maxLength: 5 }).map((p) => p.join(".")),
    fc.tuple(fc.dictionary(fc.constantFrom("typ", "kid", "cty", "al", "ALG", "alg "), fc.string()), fc.jsonValue({ maxDepth: 1 })).map(([h, p]) => `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(p))}.c2ln`),
    fc.ipV4(),
    fc.domain(),
    fc.webUrl({ withQueryParameters: true }),
    fc.uuid(),
    fc.emailAddress(),
  );
  const ordinary = fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 40 }), nearKey, dotted);

  it("in query values and names, cookies, headers, JSON bodies and raw text", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(name, ordinary), { minLength: 1, maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }), (pairs, noise) => {
        const values = pairs.map(([, v]) => v);
        const query = pairs.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join("&") + `&${encodeURIComponent(values[0] ?? "")}=1`;
        const headers = pairs.flatMap(([n, v]) => [`X-${n}`, v.replace(/[^\t\x20-\x7e]/g, " ")]);
        const cookie = ["Cookie", pairs.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join("; ")];
        const body = { noise, values, byName: Object.fromEntries(pairs.map(([n, v]) => [v, n])) };
        const r = req(["Authorization", `Bearer ${KEY}`, ...headers, ...cookie], { query, body });
        expect(checkCredentialLocation(r)).toBeNull();
        expect(checkBodyText(JSON.stringify(body))).toBeNull();
        expect(checkBodyText(query, { form: true })).toBeNull();
      }),
      { numRuns: 3000 },
    );
  });
});

describe("credential parsing under fuzzing", () => {
  const value = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.string({ unit: "grapheme" }),
    fc.string({ unit: fc.constantFrom(" ", "\t", "\u0000", "\r", "\n", "\u007f", "=", ",", ";", '"', "a", "B", "_", ".", "%", "e", "y", "J") }),
    fc.constant("x".repeat(16 * 1024)),
    fc.constant("a.".repeat(8 * 1024)),
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

/** Work done by `run`, from the scan's counters. */
function workOf(run: () => unknown): typeof credentialScanWork {
  const before = { ...credentialScanWork };
  run();
  return {
    keyProbes: credentialScanWork.keyProbes - before.keyProbes,
    dots: credentialScanWork.dots - before.dots,
    decodedChars: credentialScanWork.decodedChars - before.decodedChars,
    parses: credentialScanWork.parses - before.parses,
  };
}
const count = (s: string, sub: string): number => s.split(sub).length - 1;
const MIN_HEADER = b64url('{"alg":0}'); // eyJhbGciOjB9

describe("credential scan: bounded work on adversarial input", () => {
  it("scrubs in one pass: every dot and every ak_ is visited at most once, however many credentials", () => {
    const jwts = `${MIN_HEADER}.. `.repeat(69_000);
    const keys = `${KEY} `.repeat(20_000);
    for (const text of [jwts, keys, jwts + keys, keys + jwts]) {
      let out = "";
      const work = workOf(() => (out = scrubCredentials(text)));
      expect(work.dots).toBeLessThanOrEqual(count(text, ".") + 1);
      expect(work.keyProbes).toBeLessThanOrEqual(count(text, "ak_") + 1);
      expect(out).not.toContain(KEY);
      expect(findCredential(out)).toBeNull();
    }
  });

  it("scrubs only what the 200-character parameter shows of a form field name or a JSON member name", () => {
    const form = `${MIN_HEADER}.. `.repeat(69_000) + "=1";
    const work = workOf(() => expect(checkBodyText(form, { form: true })?.extensions).toMatchObject({ location: "body" }));
    expect(work.dots).toBeLessThan(1_000);
    const member = `${KEY} `.repeat(11_000);
    const e = checkCredentialLocation(req([], { body: { [member]: 1 } }));
    expect((e?.extensions as { parameter: string }).parameter.length).toBeLessThanOrEqual(201);
    expect(JSON.stringify(e)).not.toContain(KEY);
  });

  it("pre-checks a candidate JOSE header before decoding it: 1 MB of near-JWTs decodes nothing and parses nothing", () => {
    const text = `e${"A".repeat(11)}.`.repeat(80_000);
    const work = workOf(() => expect(checkBodyText(text)).toBeNull());
    expect(work.decodedChars).toBe(0);
    expect(work.parses).toBe(0);
  });

  it.each([
    ["runs of {-candidates with no alg", `eyJ${"-eyJ".repeat(250_000)}.a.b`],
    ["runs of {\"alg\" glued by -", `${"eyJhbGci-".repeat(110_000)}.a.b`],
    ["white-space headers", `${"ICAg-".repeat(200_000)}.a.b`],
  ])("decodes each base64url run at most four times and parses at most four headers per run: %s", (_name, text) => {
    const work = workOf(() => findCredential(text));
    expect(work.decodedChars).toBeLessThanOrEqual(4 * text.length);
    expect(work.parses).toBeLessThanOrEqual(4);
  });
});

describe("credential location: nothing found in any form is echoed", () => {
  it("redacts a key found raw but glued to an escaped character once decoded (?ak_live_...%30=1), in a query, a cookie, a form", () => {
    for (const e of [
      checkCredentialLocation(req([], { query: `${KEY}%30=1` })),
      checkCredentialLocation(req(["Cookie", `${KEY}%30=1`])),
      checkBodyText(`${KEY}%30=1`, { form: true }),
    ]) {
      expect(e?.code).toBe("credential_location_not_allowed");
      expect(JSON.stringify(e)).not.toContain(KEY);
      expect((e?.extensions as { parameter: string }).parameter).toBe("[redacted]0");
    }
  });

  /** `text` as written, or with each character percent-encoded or not, at random. */
  const encodedRandomly = (text: string) =>
    fc.oneof(fc.constant(Array.from({ length: text.length }, () => false)), fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length })).map((flags) =>
      [...text].map((ch, i) => (flags[i] ? encodeURIComponent(ch).replace(/^[A-Za-z0-9]$/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : ch)).join(""),
    );
  const glue = fc.constantFrom("", "0", "%30", "A", "%41", "-", "%2D", "_", " ", "%20", "+", ".", "%2E", "é", "%C3%A9", "%", "%E0%A4", "\\u0030", "x.");
  const withGlue = fc
    .tuple(credential, glue, glue, fc.string({ unit: fc.constantFrom("a", "1", "-", "%", "2", "_"), maxLength: 6 }))
    .chain(([c, a, b, filler]) => encodedRandomly(c).map((encoded) => ({ c, raw: `${filler}${a}${encoded}${b}${filler}` })));

  it("never carries a credential that the scan finds in the raw or the decoded name of a query, cookie or form field", () => {
    fc.assert(
      fc.property(withGlue, fc.constantFrom("query", "cookie", "form"), ({ c, raw }, where) => {
        const plus = where !== "cookie";
        let decoded = raw;
        try {
          decoded = decodeURIComponent(plus ? raw.replace(/\+/g, " ") : raw);
        } catch {
          // kept as written
        }
        const safe = raw.replace(/[&;=]/g, "x");
        const e =
          where === "query" ? checkCredentialLocation(req([], { query: `${safe}=1` })) :
          where === "cookie" ? checkCredentialLocation(req(["Cookie", `${safe}=1`])) :
          checkBodyText(`${safe}=1`, { form: true });
        if (findCredential(safe) !== null || findCredential(decoded.replace(/[&;=]/g, "x")) !== null) expect(e?.code).toBe("credential_location_not_allowed");
        expect(JSON.stringify(e ?? {})).not.toContain(c);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("checkRequestTarget", () => {
  const J = `${b64url('{"alg":"RS256"}')}.${b64url('{"sub":"1"}')}.c2ln`;
  it.each([
    ["an absolute-form target without a path", `http://x?x=${KEY}`, { location: "query", parameter: "x" }],
    ["a fragment", `/healthz#${KEY}`, { location: "path" }],
    ["userinfo", `http://${KEY}@x/healthz`, { location: "path" }],
    ["the path", `/x/${KEY}`, { location: "path" }],
    ["an escaped key in the path", `/x/%61${KEY.slice(1)}`, { location: "path" }],
    ["a JWT with white space in its header in the path", `/x/${b64url('{ "alg": "none" }')}.e30.`, { location: "path" }],
    ["the query", `/x?a=1&b=${J}`, { location: "query", parameter: "b" }],
  ])("finds a credential in %s", (_name, url, extensions) => {
    const e = checkRequestTarget(url);
    expect(e?.code).toBe("credential_location_not_allowed");
    expect(e?.extensions).toEqual(extensions);
    expect(JSON.stringify(e)).not.toContain(KEY);
  });

  it("lets ordinary targets through", () => {
    for (const url of ["/api/v2/me?limit=1", "http://api.example.com/x?token=page2#top", "/ak_tower/eyJ.x", "*"]) expect(checkRequestTarget(url)).toBeNull();
  });

  it("answers location path from checkCredentialLocation for a key in the path", () => {
    expect(checkCredentialLocation({ method: "GET", path: `/x/${KEY}`, headers: [] })?.extensions).toEqual({ location: "path" });
  });
});

describe("credential location: consistent shapes", () => {
  const J = `${b64url('{"alg":"RS256"}')}.${b64url('{"sub":"1"}')}.c2ln`;
  it("finds a JWT glued after - or _ as it finds a key there, but not one glued to base62", () => {
    for (const glued of [`a-${J}`, `jwt_${J}`, `a-${KEY}`, `jwt_${KEY}`]) {
      expect(checkCredentialLocation(req([], { query: `x=${glued}` }))?.extensions).toEqual({ location: "query", parameter: "x" });
    }
    expect(findCredential(`a${J}`)).toBeNull();
    expect(findCredential(`a${KEY}`)).toBeNull();
  });

  it("leaves a double-encoded key alone: one decoding level is what the server sees", () => {
    expect(checkCredentialLocation(req([], { query: `x=${encodeURIComponent(encodeURIComponent("%61"))}${KEY.slice(1)}` }))).toBeNull();
  });

  it("finds a key written with JSON escapes in a body that is not valid JSON", () => {
    const escaped = `{"k": "\\u0061${KEY.slice(1)}"`;
    expect(checkCredentialLocation(req([], { rawBody: escaped }))?.extensions).toEqual({ location: "body" });
    expect(checkBodyText(escaped)?.extensions).toEqual({ location: "body" });
  });
});

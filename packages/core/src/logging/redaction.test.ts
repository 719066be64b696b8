import { Writable } from "node:stream";
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../keys";
import { CREDENTIAL_HEADERS, pinoRedaction, pinoScrubbing, redactCredentials, scrubCredentials } from "./redaction";

/** A pino logger writing its lines into an array. */
function capture(options: pino.LoggerOptions) {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)), done()) });
  return { log: pino(options, stream), lines };
}
const JWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

describe("pinoRedaction", () => {
  it("redacts Authorization, cookies and key headers of req, res and top-level headers in real pino lines", () => {
    const key = generateApiKey("live");
    const { log, lines } = capture({ redact: pinoRedaction() });
    log.info({ req: { method: "GET", headers: { authorization: `Bearer ${key}`, cookie: `session=${JWT}`, "x-api-key": key, accept: "application/json" } } }, "in");
    log.info({ res: { statusCode: 200, headers: { "set-cookie": `s=${JWT}` } }, headers: { "api-key": key } }, "out");
    log.info({ req: { query: { api_key: key, access_token: JWT, page: "2" } } }, "query");
    const text = lines.join("\n");
    expect(text).not.toContain(key);
    expect(text).not.toContain(JWT);
    const [first, second, third] = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(first!.req.headers).toEqual({ authorization: "[Redacted]", cookie: "[Redacted]", "x-api-key": "[Redacted]", accept: "application/json" });
    expect(second!.res.headers["set-cookie"]).toBe("[Redacted]");
    expect(second!.headers["api-key"]).toBe("[Redacted]");
    expect(third!.req.query).toEqual({ api_key: "[Redacted]", access_token: "[Redacted]", page: "2" });
  });

  it("takes more names, other parents and another censor, and refuses a name no path can hold", () => {
    const { paths, censor } = pinoRedaction({ under: ["ctx"], headers: ["X-Tenant-Secret"], query: ["sig"], censor: "***" });
    expect(paths).toContain('ctx.headers["x-tenant-secret"]');
    expect(paths).toContain('ctx.query["sig"]');
    expect(paths).not.toContain('req.headers["authorization"]');
    const { log, lines } = capture({ redact: { paths, censor } });
    log.info({ ctx: { headers: { "x-tenant-secret": "s3cret", authorization: "Basic x" }, query: { sig: "abc" } } });
    expect(JSON.parse(lines[0]!).ctx).toEqual({ headers: { "x-tenant-secret": "***", authorization: "***" }, query: { sig: "***" } });
    expect(() => pinoRedaction({ headers: ['x"y'] })).toThrow('pinoRedaction: "x\\"y" is not a name a redact path can hold');
    expect(CREDENTIAL_HEADERS).toContain("authorization");
  });
});

describe("redactCredentials", () => {
  it("takes keys and JWTs out of a URL and leaves the rest", () => {
    const key = generateApiKey("test");
    expect(redactCredentials(`/api/v2/me?api_key=${key}&page=2`)).toBe("/api/v2/me?api_key=[Redacted]&page=2");
    expect(redactCredentials(`token ${JWT} end`, "#")).toBe("token # end");
    expect(redactCredentials("/api/v2/vault/projects?limit=10")).toBe("/api/v2/vault/projects?limit=10");
  });

  it("never leaves a key or a JWT in any text around it", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("live", "test"), fc.string(), fc.boolean(), (before, env, after, jwt) => {
        const secret = jwt ? JWT : generateApiKey(env as "live" | "test");
        const out = redactCredentials(`${before}${secret}${after}`);
        expect(out).not.toContain(secret);
        expect(out).not.toMatch(/ak_(live|test)_[A-Za-z0-9]{8}/);
      }),
    );
  });
});

describe("the spellings and places a redact path misses", () => {
  it("redacts the headers, query and body names in the cases clients send them", () => {
    const key = generateApiKey("live");
    const { log, lines } = capture({ redact: pinoRedaction() });
    log.info({ req: { headers: { Authorization: `Bearer ${key}`, "X-API-Key": key, "X-Api-Key": key, AUTHORIZATION: key, Accept: "application/json" } } });
    log.info({ req: { query: { apiKey: key, API_KEY: key, ApiKey: key, accessToken: key, page: "2" } } });
    log.info({ req: { body: { api_key: key, apiKey: key, name: "x" } } });
    expect(lines.join("\n")).not.toContain(key);
    const [headers, query, body] = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(headers!.req.headers.Accept).toBe("application/json");
    expect(query!.req.query.page).toBe("2");
    expect(body!.req.body.name).toBe("x");
  });

  it("pinoScrubbing takes a key out of every string of a line: an error's message, a message, a name no path has", () => {
    const key = generateApiKey("test");
    const { log, lines } = capture({ redact: pinoRedaction(), ...pinoScrubbing() });
    log.info({ err: new Error(`bad key ${key}`) }, "failed");
    log.info({ err: { message: `bad key ${key}` } });
    log.info({ custom: { deep: [{ credential: key }] }, n: 1 }, `saw ${key}`);
    log.info(`only a message ${key}`);
    const text = lines.join("\n");
    expect(text).not.toContain(key);
    const [first, , third] = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(first!.err).toMatchObject({ type: "Error", message: "bad key [Redacted]" }); // still an Error for pino's serializer
    expect(first!.err.stack).toContain("bad key [Redacted]");
    expect(third).toMatchObject({ custom: { deep: [{ credential: "[Redacted]" }] }, n: 1, msg: "saw [Redacted]" });
  });

  it("scrubCredentials copies, walks cycles once and leaves other objects as they are", () => {
    const key = generateApiKey("live");
    const cyclic: Record<string, unknown> = { key };
    cyclic.self = cyclic;
    const date = new Date(0);
    const out = scrubCredentials({ cyclic, date, list: [key, 1] });
    expect(out.cyclic.key).toBe("[Redacted]");
    expect(out.date).toBe(date);
    expect(out.list).toEqual(["[Redacted]", 1]);
    expect(cyclic.key).toBe(key); // the original is not changed
  });

  it("redactCredentials takes out a percent-encoded key and a Basic credential", () => {
    const key = generateApiKey("live");
    const encoded = key.replaceAll("_", "%5F");
    expect(redactCredentials(`https://u:${encoded}@h/x?k=${key.replaceAll("_", "%5f")}`)).toBe("https://u:[Redacted]@h/x?k=[Redacted]");
    const basic = Buffer.from(`u:${key}`).toString("base64");
    expect(redactCredentials(`authorization: Basic ${basic}`)).toBe("authorization: Basic [Redacted]");
    expect(redactCredentials("Basic auth is off")).toBe("Basic auth is off");
  });
});

/**
 * The HTTP server's own refusals (contract section 6, issue 9): requests Node's parser or the
 * framework cannot read, sent over raw TCP sockets (node:net), must be answered with a problem
 * of the catalogue and the connection closed, never a bare status or an empty body. Called by
 * `contractSuite`, so it runs on every framework and store variant.
 */
import { connect } from "node:net";
import { catalogue, type ProblemCode } from "@alloovium/core";
import { describe, expect, it } from "vitest";
import type { App, StoreVariant } from "./app";
import { recordedExchanges } from "./http";
import { PROBLEM_TYPE_BASE } from "./expect";
import type { Fixture } from "./seed";

const ME = "/api/v2/me";
const PROJECTS = "/api/v2/vault/projects";

/** What came back on a raw socket, and whether the server closed it. */
interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly closed: boolean;
  readonly raw: string;
}

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it. Gives up (with
 * `closed: false`) if the server keeps the connection open: no duration is asserted, a
 * connection that stays open is the failure.
 */
function sendBytes(baseUrl: string, bytes: string): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString("latin1");
      const split = raw.indexOf("\r\n\r\n");
      const head = split < 0 ? raw : raw.slice(0, split);
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const answer = { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: split < 0 ? "" : raw.slice(split + 4), closed, raw };
      record(bytes, answer);
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () => done(true));
    socket.on("close", () => done(true));
    socket.on("error", () => done(true));
    socket.write(bytes, "latin1");
  });
}

/** A body as sent, de-chunked when `Transfer-Encoding: chunked`. */
function unchunked(answer: RawAnswer): string {
  if (!/\bchunked\b/i.test(answer.headers["transfer-encoding"] ?? "")) return answer.body;
  let rest = answer.body;
  let out = "";
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = eol < 0 ? NaN : parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/**
 * Records a raw exchange with the client exchanges (`recordedExchanges`), for the OpenAPI check:
 * the request line's method and target, the answer as read (latin1 bytes read back as UTF-8).
 */
function record(bytes: string, answer: RawAnswer): void {
  if (answer.status === 0) return; // no answer: asserted by the test itself
  const [method = "", path = ""] = (bytes.split("\r\n", 1)[0] ?? "").split(" ");
  if (!path.startsWith("/")) return; // an absolute or asterisk target names no operation
  const text = Buffer.from(unchunked(answer), "latin1").toString("utf8");
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ct = answer.headers["content-type"];
  recordedExchanges.push({
    request: { method, path },
    response: { status: answer.status, headers: answer.headers, rawHeaders: [], text, body, mediaType: ct === undefined ? undefined : (ct.split(";")[0] as string).trim().toLowerCase() },
  });
}

function expectRawProblem(res: RawAnswer, code: ProblemCode): void {
  const where = res.raw.slice(0, 400);
  const { status, title } = catalogue[code];
  expect(res.status, where).toBe(status);
  expect(res.headers["content-type"], where).toBe("application/problem+json");
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    // asserted below
  }
  expect(body, where).toMatchObject({ type: PROBLEM_TYPE_BASE + code, title, status, code });
  expect(typeof body.detail, where).toBe("string");
  expect(Number(res.headers["content-length"]), where).toBe(Buffer.byteLength(res.body, "latin1"));
  expect(res.closed, `the server kept the connection open after: ${where}`).toBe(true);
}

const HOST = "Host: localhost\r\n";

/** Status, code and (for a credential) location of an answer the app wrote (its body may be chunked). */
function expectAnswer(res: RawAnswer, status: number, code: ProblemCode, location?: string): void {
  const where = res.raw.slice(0, 400);
  expect(res.status, where).toBe(status);
  expect(res.headers["content-type"], where).toBe("application/problem+json");
  expect(res.raw, where).toContain(`"code":"${code}"`);
  if (location !== undefined) expect(res.raw, where).toContain(`"location":"${location}"`);
}

/** Node keeps 2,000 header lines by default and drops the rest: about 10 KB of them, under the 16 KB limit. */
const PAD = "a:b\r\n".repeat(2_000);

/** The refusals of the HTTP server itself, over raw sockets. */
export function refusalsSuite(app: () => App, fx: Fixture, variant?: StoreVariant): void {
  const base = () => app().server.url;
  const key = (): string => fx.keys.main;
  const auth = (): string => `Authorization: Bearer ${key()}\r\n`;

  // Node's HTTP server (answerClientErrors): Bun.serve and Deno.serve parse requests themselves
  // and answer what they refuse with their own bare statuses, before the app sees anything.
  describe.skipIf(variant?.runtime !== undefined)("the HTTP server's own refusals (section 6), over raw sockets", () => {
    it.each([
      ["a NUL byte in a header value", `GET ${ME} HTTP/1.1\r\n${HOST}X-Note: a\0b\r\n\r\n`],
      ["a Content-Length that is not a number", `POST ${PROJECTS} HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`],
      ["two conflicting Content-Length headers", `POST ${PROJECTS} HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{} `],
      ["Content-Length beside Transfer-Encoding: chunked", `POST ${PROJECTS} HTTP/1.1\r\n${HOST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
      ["an unknown method", `FROB ${ME} HTTP/1.1\r\n${HOST}\r\n`],
      ["bad chunked framing", `POST ${PROJECTS} HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
      ["a request line that is not HTTP", "GARBAGE\r\n\r\n"],
      ["a request line with a bad version", `GET ${ME} HTTP/9.x\r\n${HOST}\r\n`],
      ["a space inside a header name", `GET ${ME} HTTP/1.1\r\n${HOST}Bad Header: x\r\n\r\n`],
      ["an HTTP/1.1 request without Host", `GET ${ME} HTTP/1.1\r\n\r\n`],
      ["two Host headers", `GET ${ME} HTTP/1.1\r\n${HOST}${HOST}\r\n`],
      ["a Host that is not an authority", `GET ${ME} HTTP/1.1\r\nHost: a b/c\r\n\r\n`],
      ["CONNECT (this server is no proxy)", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"],
    ])("answers %s with 400 malformed_request problem+json and closes the connection", async (_name, bytes) => {
      expectRawProblem(await sendBytes(base(), bytes), "malformed_request");
    });

    it.each([
      ["one header over the limit", `GET ${ME} HTTP/1.1\r\n${HOST}X-Big: ${"a".repeat(20_000)}\r\n\r\n`],
      ["many headers over the limit", `GET ${ME} HTTP/1.1\r\n${HOST}${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"v".repeat(60)}\r\n`).join("")}\r\n`],
      ["a request target over the limit", `GET /${"p".repeat(20_000)} HTTP/1.1\r\n${HOST}\r\n`],
    ])("answers %s with 431 headers_too_large problem+json and closes the connection", async (_name, bytes) => {
      expectRawProblem(await sendBytes(base(), bytes), "headers_too_large");
    });

    it("never echoes a key sent in a request it cannot read", async () => {
      const key = "ak_live_" + "A".repeat(38);
      const res = await sendBytes(base(), `GET ${ME} HTTP/1.1\r\n${HOST}Authorization: Bearer ${key}\r\nX-Bad: \0\r\n\r\n`);
      expectRawProblem(res, "malformed_request");
      expect(res.raw.includes(key)).toBe(false);
    });

    it.each([
      ["X-Api-Key: <key>", (): string => `X-Api-Key: ${key()}`, 400, "credential_location_not_allowed", "header"],
      ["Cookie: k=<key>", (): string => `Cookie: k=${key()}`, 400, "credential_location_not_allowed", "cookie"],
      ["a second Authorization", (): string => `Authorization: Bearer ${key()}`, 400, "duplicate_credentials", undefined],
      ["an Idempotency-Key that is not well-formed", (): string => "Idempotency-Key: \"unterminated", 400, "invalid_idempotency_key", undefined],
    ] as const)("sees %s after 2,000 other header lines", async (_name, line, status, code, location) => {
      const body = '{"name":"padded"}';
      const res = await sendBytes(base(), `POST ${PROJECTS} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n${PAD}${line()}\r\nConnection: close\r\n\r\n${body}`);
      expectAnswer(res, status, code, location);
      expect(res.raw.includes(key())).toBe(false);
    });

    it("sees a second Host and a Content-Length after 2,000 other header lines", async () => {
      expectRawProblem(await sendBytes(base(), `GET /healthz HTTP/1.1\r\n${HOST}${PAD}Host: elsewhere\r\n\r\n`), "malformed_request");
      // The body is only read (and its key found) when its Content-Length is seen.
      const body = JSON.stringify({ note: key() });
      const res = await sendBytes(base(), `POST ${PROJECTS} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\n${PAD}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      expectAnswer(res, 400, "credential_location_not_allowed", "body");
    });

    it.each([
      ["no HTTP version", () => `GET ${ME}\r\n${HOST}${auth()}\r\n`],
      ["HTTP/0.9", () => `GET ${ME} HTTP/0.9\r\n${HOST}${auth()}\r\n`],
      ["HTTP/2.0 framed as HTTP/1.1", () => `GET ${ME} HTTP/2.0\r\n${HOST}${auth()}\r\n`],
      ["an empty Host", () => `GET /healthz HTTP/1.1\r\nHost:\r\n\r\n`],
      ["an empty Host on HTTP/1.0", () => `GET /healthz HTTP/1.0\r\nHost: \r\n\r\n`],
      ["a Host a URL parser would rewrite", () => `GET /healthz HTTP/1.1\r\nHost: 127.1\r\n\r\n`],
      ["the target * with GET", () => `GET * HTTP/1.1\r\n${HOST}\r\n`],
      ["a backslash in the target", () => `GET /api\\v2/me HTTP/1.1\r\n${HOST}${auth()}\r\n`],
      ["an absolute URL that does not parse", () => `GET http://[zz]${ME} HTTP/1.1\r\n${HOST}${auth()}\r\n`],
    ])("answers a request line or Host with %s with 400 malformed_request alike on every framework", async (_name, bytes) => {
      const res = await sendBytes(base(), bytes());
      expectRawProblem(res, "malformed_request");
      expect(res.raw).not.toContain('"user_id"');
    });

    it("answers OPTIONS * with 404 not_found (400 for a key in a header) and closes the connection", async () => {
      expectRawProblem(await sendBytes(base(), `OPTIONS * HTTP/1.1\r\n${HOST}\r\n`), "not_found");
      const res = await sendBytes(base(), `OPTIONS * HTTP/1.1\r\n${HOST}X-Api-Key: ${key()}\r\n\r\n`);
      expectRawProblem(res, "credential_location_not_allowed");
      expect(res.raw).toContain('"location":"header"');
    });

    it("serves an HTTP/1.0 request without Host on every framework", async () => {
      const res = await sendBytes(base(), "GET /healthz HTTP/1.0\r\n\r\n");
      expect(res.status, res.raw.slice(0, 400)).toBe(200);
      expect(res.raw).toContain('"status":"ok"');
    });

    it.each([
      ["a policy route", PROJECTS, "POST"],
      ["/healthz", "/healthz", "GET"],
      ["an unknown route", "/nowhere", "POST"],
    ])("refuses a key in a chunked body's trailer on %s", async (_name, path, method) => {
      const res = await sendBytes(base(), `${method} ${path} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\nX-Api-Key: ${key()}\r\n\r\n`);
      expectAnswer(res, 400, "credential_location_not_allowed", "header");
      expect(res.raw.includes(key())).toBe(false);
    });

    it.each([["/%ZZ"], [`${PROJECTS}/%ZZ`], [`${PROJECTS}/%E0%A4%A`]])("answers %s (a path that does not decode) with 404 not_found and logs no error", async (path) => {
      const before = app().logLines.length;
      const res = await sendBytes(base(), `GET ${path} HTTP/1.1\r\n${HOST}${auth()}Connection: close\r\n\r\n`);
      expectAnswer(res, 404, "not_found");
      expect(app().logLines.slice(before).filter((l) => !l.startsWith('{"level"'))).toEqual([]); // the request's own JSON line only
    });

    it("serves a request whose Expect it does not know instead of a bare 417", async () => {
      const res = await sendBytes(base(), `GET ${ME} HTTP/1.1\r\n${HOST}Expect: something-else\r\nConnection: close\r\n\r\n`);
      // Served by the policy: no credential, so 401 missing_credentials (the body may be chunked).
      expect(res.status, res.raw.slice(0, 400)).toBe(401);
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(res.raw).toContain('"code":"missing_credentials"');
    });
  });
}

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
function sendBytes(baseUrl: string, bytes: string, untilAnswered = false): Promise<RawAnswer> {
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
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      if (untilAnswered && answered(Buffer.concat(chunks).toString("latin1"))) done(false);
    });
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

/** True once `raw` holds a whole answer framed by its Content-Length. */
function answered(raw: string): boolean {
  const split = raw.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, split))?.[1];
  return length !== undefined && Buffer.byteLength(raw.slice(split + 4), "latin1") >= Number(length);
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

  // Node's HTTP server (answerClientErrors). Bun.serve and Deno.serve parse requests themselves:
  // bytes Node refuses are there answered by the runtime's parser (a bare status, or the
  // connection closed), or accepted and rewritten (a URL rebuilt, a header dropped) and then
  // answered by the app. Each row runs there too, with that expectation (`expectRuntimeOrApp`);
  // the rows only the app answers run with the app's answer.
  const runtime = variant?.runtime;
  const send = (bytes: string) => sendBytes(base(), bytes, runtime !== undefined);
  /** The row's title on Node, or on Bun/Deno where the runtime's parser may answer first. */
  const titled = (node: string, fetch = "answers %s by the runtime's parser or the app: never a 5xx from the app, never a hang") => (runtime === undefined ? node : fetch);

  /**
   * On Bun/Deno, bytes Node's parser refuses: the runtime's parser refuses them (a bare 4xx/5xx
   * with no body, or a closed connection), or lets them through and the app answers: any answer
   * but a 5xx, and never the key.
   */
  function expectRuntimeOrApp(res: RawAnswer, secret?: string): void {
    const where = res.raw.slice(0, 400);
    if (res.status === 0) expect(res.closed, `no answer and the connection left open: ${where}`).toBe(true);
    else if (res.headers["content-type"] === undefined) expect(res.status, where).toBeGreaterThanOrEqual(400);
    else expect(res.status, where).toBeLessThan(500);
    if (secret !== undefined) expect(res.raw.includes(secret), where).toBe(false);
  }

  describe("the HTTP server's own refusals (section 6), over raw sockets", () => {
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
    ])(titled("answers %s with 400 malformed_request problem+json and closes the connection"), async (_name, bytes) => {
      if (runtime !== undefined) return expectRuntimeOrApp(await send(bytes));
      expectRawProblem(await sendBytes(base(), bytes), "malformed_request");
    });

    it.each([
      ["one header over the limit", `GET ${ME} HTTP/1.1\r\n${HOST}X-Big: ${"a".repeat(20_000)}\r\n\r\n`],
      ["many headers over the limit", `GET ${ME} HTTP/1.1\r\n${HOST}${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"v".repeat(60)}\r\n`).join("")}\r\n`],
      ["a request target over the limit", `GET /${"p".repeat(20_000)} HTTP/1.1\r\n${HOST}\r\n`],
    ])(titled("answers %s with 431 headers_too_large problem+json and closes the connection"), async (_name, bytes) => {
      if (runtime !== undefined) return expectRuntimeOrApp(await send(bytes));
      expectRawProblem(await sendBytes(base(), bytes), "headers_too_large");
    });

    it("never echoes a key sent in a request it cannot read", async () => {
      const key = "ak_live_" + "A".repeat(38);
      const res = await send(`GET ${ME} HTTP/1.1\r\n${HOST}Authorization: Bearer ${key}\r\nX-Bad: \0\r\n\r\n`);
      if (runtime !== undefined) return expectRuntimeOrApp(res, key);
      expectRawProblem(res, "malformed_request");
      expect(res.raw.includes(key)).toBe(false);
    });

    it.each([
      ["X-Api-Key: <key>", (): string => `X-Api-Key: ${key()}`, 400, "credential_location_not_allowed", "header"],
      ["Cookie: k=<key>", (): string => `Cookie: k=${key()}`, 400, "credential_location_not_allowed", "cookie"],
      ["a second Authorization", (): string => `Authorization: Bearer ${key()}`, 400, "duplicate_credentials", undefined],
      ["an Idempotency-Key that is not well-formed", (): string => "Idempotency-Key: \"unterminated", 400, "invalid_idempotency_key", undefined],
    ] as const)(titled("sees %s after 2,000 other header lines", "answers %s after 2,000 other header lines by the runtime's parser (its header count limit) or the app"), async (_name, line, status, code, location) => {
      const body = '{"name":"padded"}';
      const res = await send(`POST ${PROJECTS} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n${PAD}${line()}\r\nConnection: close\r\n\r\n${body}`);
      // Bun answers a bare 431, Deno a bare 400: their parsers' own limits on header lines.
      if (runtime !== undefined) return expectRuntimeOrApp(res, key());
      expectAnswer(res, status, code, location);
      expect(res.raw.includes(key())).toBe(false);
    });

    it(titled("sees a second Host and a Content-Length after 2,000 other header lines", "answers a second Host and a Content-Length after 2,000 other header lines by the runtime's parser or the app"), async () => {
      const host = await send(`GET /healthz HTTP/1.1\r\n${HOST}${PAD}Host: elsewhere\r\n\r\n`);
      // The body is only read (and its key found) when its Content-Length is seen.
      const body = JSON.stringify({ note: key() });
      const res = await send(`POST ${PROJECTS} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\n${PAD}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      if (runtime !== undefined) {
        expectRuntimeOrApp(host);
        return expectRuntimeOrApp(res, key());
      }
      expectRawProblem(host, "malformed_request");
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
    ])(titled("answers a request line or Host with %s with 400 malformed_request alike on every framework"), async (_name, bytes) => {
      const res = await send(bytes());
      // Bun and Deno rebuild such a target or Host into a URL (`\\` as `/`, `127.1` kept) and the
      // app serves what it got: the runtime's reading, not the app's.
      if (runtime !== undefined) return expectRuntimeOrApp(res, key());
      expectRawProblem(res, "malformed_request");
      expect(res.raw).not.toContain('"user_id"');
    });

    // Bun's parser refuses `OPTIONS *` (a bare 400); Deno hands it to the app, which answers as on
    // Node (the connection kept alive: Deno's server, not answerClientErrors, writes it).
    it.skipIf(runtime === "bun")("answers OPTIONS * with 404 not_found (400 for a key in a header) and closes the connection", async () => {
      const plain = await send(`OPTIONS * HTTP/1.1\r\n${HOST}\r\n`);
      const res = await send(`OPTIONS * HTTP/1.1\r\n${HOST}X-Api-Key: ${key()}\r\n\r\n`);
      if (runtime === "deno") {
        expectAnswer(plain, 404, "not_found");
        expectAnswer(res, 400, "credential_location_not_allowed", "header");
        expect(res.raw.includes(key())).toBe(false);
        return;
      }
      expectRawProblem(plain, "not_found");
      expectRawProblem(res, "credential_location_not_allowed");
      expect(res.raw).toContain('"location":"header"');
    });

    // Bun gives a request without Host a URL of its own (the app answers 404 for it).
    it.skipIf(runtime === "bun")("serves an HTTP/1.0 request without Host on every framework", async () => {
      const res = await send("GET /healthz HTTP/1.0\r\n\r\n");
      expect(res.status, res.raw.slice(0, 400)).toBe(200);
      expect(res.raw).toContain('"status":"ok"');
    });

    it.each([
      ["a policy route", PROJECTS, "POST"],
      ["/healthz", "/healthz", "GET"],
      ["an unknown route", "/nowhere", "POST"],
    ])("refuses a key in a chunked body's trailer on %s", async (_name, path, method) => {
      const chunked = (announce: string, trailer: string) =>
        send(`${method} ${path} HTTP/1.1\r\n${HOST}${auth()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n${announce}Connection: close\r\n\r\n2\r\n{}\r\n0\r\n${trailer}\r\n`);
      const res = await chunked("", `X-Api-Key: ${key()}\r\n`);
      expect(res.raw.includes(key())).toBe(false);
      if (runtime === undefined) return expectAnswer(res, 400, "credential_location_not_allowed", "header");
      // Bun and Deno: a GET announcing a body is refused unread. Fetch has no trailers: an
      // unannounced one is not seen (the answer is the one without it; README "On Bun and
      // Deno"), and a request that announces trailers (`Trailer:`) is refused.
      if (method === "GET") return expectAnswer(res, 400, "credential_location_not_allowed", "body");
      // (Bun's parser at times refuses trailer fields itself, with a bare 400.)
      if (res.headers["content-type"] === undefined) expectRuntimeOrApp(res, key());
      else expect(res.status, res.raw.slice(0, 400)).toBe((await chunked("", "")).status);
      const announced = await chunked("Trailer: X-Api-Key\r\n", `X-Api-Key: ${key()}\r\n`);
      expectAnswer(announced, 400, "credential_location_not_allowed", "header");
      expect(announced.raw.includes(key())).toBe(false);
    });

    it.each([["/%ZZ"], [`${PROJECTS}/%ZZ`], [`${PROJECTS}/%E0%A4%A`]])("answers %s (a path that does not decode) with 404 not_found and logs no error", async (path) => {
      const before = app().logLines.length;
      const res = await send(`GET ${path} HTTP/1.1\r\n${HOST}${auth()}Connection: close\r\n\r\n`);
      expectAnswer(res, 404, "not_found");
      expect(app().logLines.slice(before).filter((l) => !l.startsWith('{"level"'))).toEqual([]); // the request's own JSON line only
    });

    it("serves a request whose Expect it does not know instead of a bare 417", async () => {
      const res = await send(`GET ${ME} HTTP/1.1\r\n${HOST}Expect: something-else\r\nConnection: close\r\n\r\n`);
      // Served by the policy: no credential, so 401 missing_credentials (the body may be chunked).
      expect(res.status, res.raw.slice(0, 400)).toBe(401);
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(res.raw).toContain('"code":"missing_credentials"');
    });
  });
}

/**
 * The HTTP server's own refusals (contract section 6, issue 9): requests Node's parser or the
 * framework cannot read, sent over raw TCP sockets (node:net), must be answered with a problem
 * of the catalogue and the connection closed, never a bare status or an empty body. Called by
 * `contractSuite`, so it runs on every framework and store variant.
 */
import { connect } from "node:net";
import { catalogue, type ProblemCode } from "@alloovium/core";
import { describe, expect, it } from "vitest";
import type { App } from "./app";
import { PROBLEM_TYPE_BASE } from "./expect";

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
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: split < 0 ? "" : raw.slice(split + 4), closed, raw });
    };
    const timer = setTimeout(() => done(false), 10_000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("end", () => done(true));
    socket.on("close", () => done(true));
    socket.on("error", () => done(true));
    socket.write(bytes, "latin1");
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

/** The refusals of the HTTP server itself, over raw sockets. */
export function refusalsSuite(app: () => App): void {
  const base = () => app().server.url;

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

    it("serves a request whose Expect it does not know instead of a bare 417", async () => {
      const res = await sendBytes(base(), `GET ${ME} HTTP/1.1\r\n${HOST}Expect: something-else\r\nConnection: close\r\n\r\n`);
      // Served by the policy: no credential, so 401 missing_credentials (the body may be chunked).
      expect(res.status, res.raw.slice(0, 400)).toBe(401);
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(res.raw).toContain('"code":"missing_credentials"');
    });
  });
}

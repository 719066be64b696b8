import { createServer, type Server, type ServerOptions } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { generateApiKey } from "../keys/api-key";
import { answerClientErrors } from "./client-errors";

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
});

async function start(options?: Parameters<typeof answerClientErrors>[1], serverOptions: ServerOptions = {}): Promise<number> {
  // Reads the body, then serves the number and names of the header lines it was given (last
  // first), so that a dropped line shows.
  server = createServer(serverOptions, (req, res) => {
    const names = req.rawHeaders.filter((_, i) => i % 2 === 0).reverse().slice(0, 3).join(",");
    req.resume().on("end", () => res.writeHead(200, { "content-type": "text/plain" }).end(`served ${req.rawHeaders.length / 2} ${names}`));
  });
  answerClientErrors(server, options);
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** Writes bytes on a fresh socket, reads until the server closes it (or 10 s: then `closed` is false). */
function send(port: number, bytes: string): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed });
    };
    const timer = setTimeout(() => done(false), 10_000);
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("close", () => done(true));
    s.on("error", () => done(true));
    s.write(bytes, "latin1");
  });
}

function problemOf(text: string): { status: number; contentType: string | undefined; body: Record<string, unknown> } {
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    contentType: /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1],
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

describe("answerClientErrors", () => {
  it("answers what the parser refuses with problem+json and closes the connection", async () => {
    const seen: string[] = [];
    const port = await start({ onClientError: (code, parserCode) => seen.push(`${code}:${parserCode}`) });
    const nul = await send(port, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n");
    expect(nul.closed).toBe(true);
    expect(problemOf(nul.text)).toMatchObject({ status: 400, contentType: "application/problem+json", body: { code: "malformed_request", status: 400, title: "Malformed request" } });
    const big = await send(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(big.closed).toBe(true);
    expect(problemOf(big.text)).toMatchObject({ status: 431, body: { code: "headers_too_large", type: "https://api.alloovium.com/errors/headers_too_large" } });
    expect(seen).toEqual(["malformed_request:HPE_INVALID_HEADER_TOKEN", "headers_too_large:HPE_HEADER_OVERFLOW"]);
  });

  it("uses the problem type base it is given, and a throwing onClientError does not stop the answer", async () => {
    const port = await start({ problemTypeBase: "https://errors.example.com/", onClientError: () => { throw new Error("logger down"); } });
    const res = await send(port, "FROB / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(problemOf(res.text).body).toMatchObject({ code: "malformed_request", type: "https://errors.example.com/malformed_request" });
  });

  it("applies RFC 9112's Host rules in front of the app, and serves what is well-formed", async () => {
    const port = await start();
    for (const bytes of ["GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"]) {
      const res = await send(port, bytes);
      expect(res.closed).toBe(true);
      expect(problemOf(res.text)).toMatchObject({ status: 400, contentType: "application/problem+json", body: { code: "malformed_request" } });
    }
    for (const host of ["example.com:8080", "Example.COM", "127.0.0.1:80", "[::1]:3000", "a_b.example.", "xn--bcher-kva.example"]) {
      const ok = await send(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(ok.text).toMatch(/^HTTP\/1\.1 200 [\s\S]*served/);
    }
    const http10 = await send(port, "GET / HTTP/1.0\r\n\r\n"); // HTTP/1.0 needs no Host
    expect(http10.text).toMatch(/^HTTP\/1\.1 200 /);
    const expect417 = await send(port, "GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nConnection: close\r\n\r\n");
    expect(expect417.text).toMatch(/^HTTP\/1\.1 200 /);
    const tunnel = await send(port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(problemOf(tunnel.text)).toMatchObject({ status: 400, body: { code: "malformed_request" } });
  });

  it("never writes on a socket that is not writable or already carries a response, and never throws", async () => {
    await start();
    const gone = new PassThrough();
    gone.destroy();
    const error = Object.assign(new Error("Parse Error"), { code: "HPE_INVALID_METHOD" });
    expect(() => server!.emit("clientError", error, gone)).not.toThrow();
    const busy = Object.assign(new PassThrough(), { _httpMessage: { headersSent: true } });
    const written: unknown[] = [];
    busy.on("data", (c) => written.push(c));
    expect(() => server!.emit("clientError", error, busy)).not.toThrow();
    expect(busy.destroyed).toBe(true);
    expect(written).toEqual([]);
    // A reset closes without an answer.
    const reset = new PassThrough();
    reset.on("data", (c) => written.push(c));
    server!.emit("clientError", Object.assign(new Error("reset"), { code: "ECONNRESET" }), reset);
    expect(reset.destroyed).toBe(true);
    expect(written).toEqual([]);
  });

  it("keeps every header line past Node's 2,000-line count (the size limit still bounds them)", async () => {
    const port = await start();
    const pad = "a:b\r\n".repeat(2_000);
    const res = await send(port, `GET / HTTP/1.1\r\nHost: x\r\n${pad}X-Last: 1\r\nConnection: close\r\n\r\n`);
    expect(res.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(res.text).toContain("served 2003 Connection,X-Last,a");
    const twoHosts = await send(port, `GET / HTTP/1.1\r\nHost: x\r\n${pad}Host: y\r\n\r\n`);
    expect(problemOf(twoHosts.text)).toMatchObject({ status: 400, body: { code: "malformed_request" } });
  });

  it.each([
    ["no HTTP version (llhttp: 0.9)", "GET /\r\nHost: x\r\n\r\n"],
    ["HTTP/2.0 in an HTTP/1.1 framing", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"],
    ["an empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n"],
    ["an empty Host on HTTP/1.0", "GET / HTTP/1.0\r\nHost: \r\n\r\n"],
    ["a Host with a port and no name", "GET / HTTP/1.1\r\nHost: :8080\r\n\r\n"],
    ["a percent-encoded Host", "GET / HTTP/1.1\r\nHost: a%41\r\n\r\n"],
    ["a Host a URL parser rewrites (IPv4 shorthand)", "GET / HTTP/1.1\r\nHost: 127.1\r\n\r\n"],
    ["a Host a URL parser rewrites (IPv6)", "GET / HTTP/1.1\r\nHost: [0:0::1]:80\r\n\r\n"],
    ["a Host a URL parser rewrites (IDNA)", "GET / HTTP/1.1\r\nHost: xn--zz\r\n\r\n"],
    ["the target * with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a backslash in the target", "GET /a\\b HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["an absolute URL that does not parse", "GET http://[zz]/ HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a target that is neither a path nor an absolute URL", "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n"],
  ])("answers %s with 400 malformed_request and closes the connection", async (_name, bytes) => {
    const port = await start();
    const res = await send(port, bytes);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(problemOf(res.text)).toMatchObject({ status: 400, contentType: "application/problem+json", body: { code: "malformed_request" } });
  });

  it("answers OPTIONS * with 404 not_found, or 400 for a credential in a header", async () => {
    const port = await start();
    const res = await send(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(res.closed).toBe(true);
    expect(problemOf(res.text)).toMatchObject({ status: 404, body: { code: "not_found" } });
    const key = generateApiKey("live");
    const located = await send(port, `OPTIONS * HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${key}\r\n\r\n`);
    expect(problemOf(located.text)).toMatchObject({ status: 400, body: { code: "credential_location_not_allowed", location: "header" } });
    expect(located.text.includes(key)).toBe(false);
  });

  it.each([
    ["headers that stop half-way", "GET / HTTP/1.1\r\nHost: x\r\n"],
    ["a request line with no version and nothing after it", "GET /healthz\r\n"],
    ["a body that stops short", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"],
  ])("answers %s that time out with 400 malformed_request instead of a bare 408", async (_name, bytes) => {
    const seen: string[] = [];
    const port = await start({ onClientError: (code, parserCode) => seen.push(`${code}:${parserCode}`) }, { headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 });
    const res = await send(port, bytes);
    expect(res.closed).toBe(true);
    const answer = problemOf(res.text);
    expect(answer).toMatchObject({ status: 400, contentType: "application/problem+json", body: { code: "malformed_request" } });
    expect(answer.body["detail"]).toMatch(/did not arrive in time/);
    expect(seen).toEqual(["malformed_request:ERR_HTTP_REQUEST_TIMEOUT"]);
  });

  it("checks its arguments", () => {
    expect(() => answerClientErrors({} as Server)).toThrow(/`server`/);
    expect(() => answerClientErrors(createServer(), { onClientError: 1 as never })).toThrow(/`onClientError`/);
  });
});

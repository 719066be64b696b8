import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { answerClientErrors } from "./client-errors";

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((r) => { s.close(() => r()); s.closeAllConnections(); });
});

async function start(options?: Parameters<typeof answerClientErrors>[1]): Promise<number> {
  server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("served"));
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
    const ok = await send(port, "GET / HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n");
    expect(ok.text).toMatch(/^HTTP\/1\.1 200 [\s\S]*served/);
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
    // A reset or a timeout closes without an answer (the catalogue has no 408).
    const reset = new PassThrough();
    reset.on("data", (c) => written.push(c));
    server!.emit("clientError", Object.assign(new Error("reset"), { code: "ECONNRESET" }), reset);
    expect(reset.destroyed).toBe(true);
    expect(written).toEqual([]);
  });

  it("checks its arguments", () => {
    expect(() => answerClientErrors({} as Server)).toThrow(/`server`/);
    expect(() => answerClientErrors(createServer(), { onClientError: 1 as never })).toThrow(/`onClientError`/);
  });
});

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { checkCredentialLocation } from "../credentials";
import { problem, PROBLEM_CONTENT_TYPE, type PolicyError, type ProblemCode, type ProblemOptions } from "../problems";

/** Options of `answerClientErrors`. */
export interface ClientErrorOptions {
  /** Base of problem `type` URIs (as the policy's option). @default "https://api.alloovium.com/errors/" */
  readonly problemTypeBase?: string;
  /**
   * Told of each refusal (the code only: the request's bytes are never passed on, they may hold
   * a key). @default none
   */
  readonly onClientError?: (code: "malformed_request" | "headers_too_large", parserCode: string) => void;
}

// What llhttp's error codes mean to a client. The detail never echoes the request.
const DETAILS: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: "The request method is not a valid HTTP method.",
  HPE_INVALID_CONTENT_LENGTH: "The request's Content-Length is not a valid length.",
  HPE_UNEXPECTED_CONTENT_LENGTH: "The request's Content-Length conflicts with its framing (a second Content-Length or a Transfer-Encoding).",
  HPE_INVALID_HEADER_TOKEN: "A request header is malformed (a bad name, or a NUL or control character in its value).",
  HPE_INVALID_CHUNK_SIZE: "The request body's chunked framing is invalid.",
  HPE_INVALID_TRANSFER_ENCODING: "The request's Transfer-Encoding is invalid.",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "The request body's chunked framing is invalid.",
  HPE_INVALID_URL: "The request target is not a valid URL.",
  HPE_INVALID_VERSION: "The request line's HTTP version is invalid.",
};
const MALFORMED = "The request could not be read as HTTP/1.1.";
const TIMED_OUT = "The request did not arrive in time: the server stopped waiting for the rest of it.";

/** The raw bytes of a problem response that closes the connection. */
function rawProblem(code: ProblemCode, detail: string, options: ProblemOptions | undefined): string {
  const body = problemBody(code, detail, options);
  const status = code === "headers_too_large" ? "431 Request Header Fields Too Large" : "400 Bad Request";
  return `HTTP/1.1 ${status}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

// RFC 3986 authority as Host carries it: an IP literal or a non-empty reg-name (an `http` URI
// has a host, RFC 9110 section 4.2.1; no percent-encoding, which WHATWG URLs would decode),
// an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=]+)(?::\d*)?$/;

// A name a URL parser keeps as it is (its last label not a number, no IDNA): the common case.
const PLAIN_NAME = /^(?!.*[xX][nN]--)(?:[A-Za-z0-9-]+\.)*[A-Za-z-][A-Za-z0-9-]*\.?(?::\d*)?$/;

/**
 * True when a URL parser keeps the host as sent (`127.1`, `[0::1]` or `xn--` names it would
 * rewrite are refused): the URL a framework builds from Host (Hono's) names what Host says.
 */
function canonicalHost(host: string): boolean {
  try {
    return new URL(`http://${host}/`).hostname === host.replace(/:\d*$/, "").toLowerCase();
  } catch {
    return false;
  }
}

function parses(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

// Verdicts on the Host values seen (a server sees few): no regex or URL parse per request.
const hostVerdicts = new Map<string, boolean>();

function validHost(host: string): boolean {
  let ok = hostVerdicts.get(host);
  if (ok === undefined) {
    ok = HOST.test(host) && (PLAIN_NAME.test(host) || canonicalHost(host));
    if (hostVerdicts.size >= 256) hostVerdicts.clear(); // many distinct hosts: judged again, never grown
    hostVerdicts.set(host, ok);
  }
  return ok;
}

/**
 * Missing on HTTP/1.1, given twice, empty or not an authority (RFC 9112 section 3.2). Read from
 * the raw header list: `req.headers` would build Node's header object for frameworks that never
 * ask for it.
 */
function badHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length !== 4 || (name !== "Host" && name !== "host" && name.toLowerCase() !== "host")) continue;
    if (host !== undefined) return true;
    host = raw[i + 1]!;
  }
  if (host === undefined) return req.httpVersion === "1.1";
  return !validHost(host);
}

/** What the request wrapper answers before any framework sees the request, or null to serve it. */
type Screened = { readonly status: 400 | 404; readonly error: PolicyError; readonly tag: string } | null;

const notHttp11: PolicyError = { code: "malformed_request", detail: "The request line must name HTTP/1.1 or HTTP/1.0." };
const badHostError: PolicyError = { code: "malformed_request", detail: "The request must carry exactly one valid Host header (an HTTP/1.1 request always)." };
const asterisk: PolicyError = { code: "malformed_request", detail: "The request target `*` is only allowed with OPTIONS." };
const badTarget: PolicyError = { code: "malformed_request", detail: "The request target must be a path starting with `/` or an absolute http(s) URL, without a backslash." };
const serverWide: PolicyError = { code: "not_found", detail: "This server has no resource for `*` (the server as a whole): ask a resource's path." };

// An origin-form path or an absolute http(s) URL (RFC 9112 section 3.2), with no backslash (no URI has one).
const TARGET = /^(?:\/|https?:\/\/)[^\\]*$/i;

/** RFC 9112's request-line and Host rules, decided once so that every framework answers alike. */
function screenRequest(req: IncomingMessage): Screened {
  // llhttp accepts `HTTP/2.0` and a line with no version at all (reported as 0.9).
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 0 && req.httpVersionMinor !== 1)) return { status: 400, error: notHttp11, tag: "HTTP_VERSION" };
  if (badHost(req)) return { status: 400, error: badHostError, tag: "MISSING_HOST" };
  const url = req.url ?? "";
  if (url === "*") {
    if (req.method !== "OPTIONS") return { status: 400, error: asterisk, tag: "ASTERISK_TARGET" };
    // A well-formed request for no resource: 404, after the credential screen of the headers.
    const located = checkCredentialLocation({ method: "OPTIONS", path: "", query: "", headers: req.rawHeaders });
    return { status: located ? 400 : 404, error: located ?? serverWide, tag: "OPTIONS_ASTERISK" };
  }
  // An absolute URL must parse (Hono builds its Request from it; the others take its path).
  if (!TARGET.test(url) || (url.charCodeAt(0) !== 0x2f && !parses(url))) return { status: 400, error: badTarget, tag: "REQUEST_TARGET" };
  return null;
}

function problemBody(code: ProblemCode, detail: string, options: ProblemOptions | undefined): string {
  return JSON.stringify(problem(code, detail, undefined, options));
}

/** Writes `bytes` and closes, only when nothing of another response went out on this socket. */
function answerOnSocket(socket: Duplex, bytes: string): void {
  // As Node's own default: never corrupt a response already being written (a pipelined request).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  socket.end(bytes, () => socket.destroy());
}

/**
 * Makes the refusals Node's HTTP server writes by itself problems of the catalogue (problem+json
 * with a code, never a bare status), for any server (the frameworks all sit on `node:http`):
 * - headers over `maxHeaderSize`: 431 `headers_too_large` (Node: a bare 431);
 * - a request the parser cannot read (a NUL or control character in a header, a bad or
 *   duplicate Content-Length, bad chunked framing, an unknown method, a bad request line):
 *   400 `malformed_request` (Node: a bare 400 with no body);
 * - an HTTP/1.1 request without `Host`, and any request with two `Host` lines or a `Host` that
 *   is not a valid authority: 400 `malformed_request` (RFC 9112 section 3.2 requires the 400;
 *   Node writes a bare one for a missing Host and lets the others through). Install after the
 *   `request` listener (`createServer(app)`): its listeners are wrapped so that they never see
 *   such a request;
 * - an `Expect` other than `100-continue`: ignored, the request is served (RFC 9110 allows it;
 *   Node answers a bare 417, a status the catalogue does not have);
 * - `CONNECT` (no proxying here): 400 `malformed_request` (Node closes the connection).
 * - a request line that names no version, or one other than HTTP/1.0 and HTTP/1.1 (llhttp
 *   takes `HTTP/2.0` and a versionless line as HTTP/0.9): 400 `malformed_request`;
 * - an empty `Host`, the target `*` with another method than OPTIONS, or a target that is not a
 *   path or an absolute http(s) URL (a backslash in it): 400 `malformed_request`; `OPTIONS *`
 *   (no resource here): 404 `not_found`, or 400 `credential_location_not_allowed` for a
 *   credential in a header. An HTTP/1.0 request without `Host` is served;
 * - a request that did not arrive within `headersTimeout`/`requestTimeout`: 400
 *   `malformed_request` saying so (Node: a bare 408, a status the catalogue does not have);
 * - more headers than `maxHeadersCount` (Node's 2,000 by default): all kept, served or refused
 *   as any request. It sets `server.maxHeadersCount = 0` (no count limit: `maxHeaderSize`
 *   still bounds how many fit), since Node drops the lines past the count silently, and a
 *   dropped `X-Api-Key`, second `Authorization` or `Content-Length` would never be judged.
 * A reset connection is closed without an answer. Each answer closes the connection; nothing
 * is written when the socket is not writable or another response already started on it; the
 * listener never throws.
 * @example
 * const server = createServer(app);
 * answerClientErrors(server);
 */
export function answerClientErrors(server: Server, options: ClientErrorOptions = {}): void {
  if (!server || typeof server.on !== "function" || typeof server.listeners !== "function") {
    throw new TypeError("answerClientErrors: `server` must be a node:http Server");
  }
  if (options.onClientError !== undefined && typeof options.onClientError !== "function") {
    throw new TypeError("answerClientErrors: `onClientError` must be a function");
  }
  const typeOptions = options.problemTypeBase === undefined ? undefined : { typeBase: options.problemTypeBase };
  const tell = (code: "malformed_request" | "headers_too_large", parserCode: string): void => {
    try {
      options.onClientError?.(code, parserCode);
    } catch {
      // A logging callback must not keep the answer from going out.
    }
  };
  // Node keeps only the first `maxHeadersCount` lines and drops the rest without a word.
  server.maxHeadersCount = 0;
  const timedOut = rawProblem("malformed_request", TIMED_OUT, typeOptions);
  const tooLarge = rawProblem("headers_too_large", "The request's headers are larger than this server accepts.", typeOptions);
  const answers = new Map<string, string>();
  const malformedAnswer = (parserCode: string): string => {
    let a = answers.get(parserCode);
    if (a === undefined) {
      a = rawProblem("malformed_request", DETAILS[parserCode] ?? MALFORMED, typeOptions);
      if (answers.size < 64) answers.set(parserCode, a);
    }
    return a;
  };

  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    try {
      const parserCode = typeof error?.code === "string" ? error.code : "";
      if (parserCode === "ERR_HTTP_REQUEST_TIMEOUT") {
        tell("malformed_request", parserCode);
        answerOnSocket(socket, timedOut);
        return;
      }
      if (parserCode === "ECONNRESET" || parserCode === "EPIPE" || !parserCode.startsWith("HPE_")) {
        socket.destroy();
        return;
      }
      if (parserCode === "HPE_HEADER_OVERFLOW") {
        tell("headers_too_large", parserCode);
        answerOnSocket(socket, tooLarge);
      } else {
        tell("malformed_request", parserCode);
        answerOnSocket(socket, malformedAnswer(parserCode));
      }
    } catch {
      socket.destroy();
    }
  });

  if (server.listenerCount("connect") === 0) {
    const connectAnswer = rawProblem("malformed_request", "CONNECT is not supported: this server is not a proxy.", typeOptions);
    server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
      try {
        tell("malformed_request", "CONNECT");
        answerOnSocket(socket, connectAnswer);
      } catch {
        socket.destroy();
      }
    });
  }

  if (server.listenerCount("checkExpectation") === 0) {
    server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
      server.emit("request", req, res);
    });
  }

  // Node answers a Host-less HTTP/1.1 request itself with a bare 400 unless told not to; the
  // check moves here, in front of the app's listeners, with the rest of RFC 9112's rules.
  const listeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  (server as Server & { requireHostHeader?: boolean }).requireHostHeader = false;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const refused = screenRequest(req);
    if (refused) {
      const { status, error, tag } = refused;
      if (error.code === "malformed_request") tell("malformed_request", tag);
      const body = JSON.stringify(problem(error.code, error.detail, error.extensions, typeOptions));
      // The body is never read: the connection closes after the answer.
      res.shouldKeepAlive = false;
      res.writeHead(status, { ...error.headers, "content-type": PROBLEM_CONTENT_TYPE, "content-length": Buffer.byteLength(body), connection: "close" });
      res.end(body);
      return;
    }
    for (const listener of listeners) listener.call(server, req, res);
  });
}

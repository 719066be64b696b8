import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { problem, PROBLEM_CONTENT_TYPE, type ProblemCode, type ProblemOptions } from "../problems";

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

/** The raw bytes of a problem response that closes the connection. */
function rawProblem(code: ProblemCode, detail: string, options: ProblemOptions | undefined): string {
  const body = problemBody(code, detail, options);
  const status = code === "headers_too_large" ? "431 Request Header Fields Too Large" : "400 Bad Request";
  return `HTTP/1.1 ${status}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

// RFC 3986 authority as Host carries it: an IP literal or a reg-name (may be empty), an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::\d*)?$/;

/** Missing on HTTP/1.1, given twice, or not an authority (RFC 9112 section 3.2). */
function badHost(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined) return req.httpVersion === "1.1";
  if (!HOST.test(host)) return true;
  let lines = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "host" && ++lines > 1) return true;
  return false;
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
 * Makes the refusals Node's HTTP server writes by itself problems of the catalogue (contract
 * section 6), for any server (the frameworks all sit on `node:http`):
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
 * A timed-out or reset connection is closed without an answer, as before. Each answer closes
 * the connection; nothing is written when the socket is not writable or another response
 * already started on it; the listener never throws.
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
      if (parserCode === "ECONNRESET" || parserCode === "EPIPE" || parserCode === "ERR_HTTP_REQUEST_TIMEOUT" || !parserCode.startsWith("HPE_")) {
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
  // check moves here, in front of the app's listeners, with the rest of RFC 9112's Host rules.
  const noHost = problemBody("malformed_request", "An HTTP/1.1 request must carry exactly one valid Host header.", typeOptions);
  const listeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  (server as Server & { requireHostHeader?: boolean }).requireHostHeader = false;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (badHost(req)) {
      tell("malformed_request", "MISSING_HOST");
      res.shouldKeepAlive = false;
      res.writeHead(400, { "content-type": PROBLEM_CONTENT_TYPE, "content-length": Buffer.byteLength(noHost), connection: "close" });
      res.end(noHost);
      return;
    }
    for (const listener of listeners) listener.call(server, req, res);
  });
}

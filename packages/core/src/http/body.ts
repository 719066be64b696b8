import { headerValue } from "./headers";
import { policyError, type PolicyError } from "../problems";

/** Default cap on a request body: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1_048_576;

/** Methods whose routes take a JSON body: anything else sent with them is 415. */
export const BODY_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH"]);

/**
 * The body as the pipeline and the handler see it: `body` when it parsed as JSON, `rawBody`
 * (its text) when it did not, neither when the request had none.
 */
export interface ReadBody {
  readonly body?: unknown;
  readonly rawBody?: string;
}

// The Encoding Standard's labels of UTF-8, any case, quoted or not.
const UTF8_LABEL = /^(?:utf-8|utf8|unicode-1-1-utf-8|unicode11utf8|unicode20utf8|x-unicode20utf8)$/i;

/** True for `application/json` and `application/*+json`, any parameters, UTF-8 (any WHATWG label of it, or no charset). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [essence = "", ...params] = contentType.split(";");
  const type = essence.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type)) return false;
  for (const p of params) {
    const [name = "", value = ""] = p.split("=");
    const charset = value.trim();
    const unquoted = charset.length >= 2 && charset.startsWith('"') && charset.endsWith('"') ? charset.slice(1, -1) : charset;
    if (name.trim().toLowerCase() === "charset" && !UTF8_LABEL.test(unquoted)) return false;
  }
  return true;
}

/** 413 `payload_too_large` for a body over `limit` bytes. */
export function tooLarge(limit: number): PolicyError {
  return policyError("payload_too_large", `The request body exceeds ${limit} bytes.`, { limit_bytes: limit });
}

function unsupported(): PolicyError {
  return policyError("unsupported_media_type", "Send the body as JSON with Content-Type: application/json.");
}

/**
 * True when the headers announce a body: a Content-Length other than 0, or a Transfer-Encoding.
 * @example if (!requestHasBody(req.rawHeaders)) skipTheRead();
 */
export function requestHasBody(headers: readonly string[]): boolean {
  const length = headerValue(headers, "content-length");
  if (length !== undefined) return length.trim() !== "0";
  return headerValue(headers, "transfer-encoding") !== undefined;
}

/** True for `application/x-www-form-urlencoded`, any parameters. */
export function isFormMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/**
 * A body as the HTTP gate sees it: what the handler gets (`body`/`rawBody`), plus what the gate
 * checks before answering a transport problem itself.
 */
export interface RequestBody extends ReadBody {
  /**
   * The text of a body that is not JSON, or not valid UTF-8 (any media type, any method), for
   * the credential-location check only: never the handler's body.
   */
  readonly text?: string;
  /** True when `text` is form-urlencoded: the check names the field that holds a credential. */
  readonly form?: boolean;
  /**
   * 413 `payload_too_large`, 415 `unsupported_media_type` or 400 `invalid_body` (JSON that is not
   * valid UTF-8): answered unless a misplaced credential is found first.
   */
  readonly problem?: PolicyError;
}

/** What `readRequestBody` returns for a request without a body (frozen, shared). */
export const NO_BODY: RequestBody = Object.freeze({});

// The Encoding Standard's decoders: the same on Node, Bun, Deno and workers.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function notUtf8(): PolicyError {
  return policyError("invalid_body", "The request body is not valid UTF-8: send JSON as UTF-8.");
}

/**
 * Reads a request body once, with a size cap, whatever its media type. A JSON body is `body`
 * (or `rawBody` when it does not parse: the handler answers 400 `invalid_body`, stored for
 * replay); JSON that is not valid UTF-8 is 400 `invalid_body` (`problem`). Anything else is read
 * only to be judged: its `text` (and `form` for form-urlencoded) comes back for the
 * credential-location check; on POST/PUT/PATCH a body that is not JSON is 415
 * `unsupported_media_type` (`problem`); a body over the cap is 413 `payload_too_large`.
 * @param headers the raw header list (`req.rawHeaders`)
 * @param stream the body bytes, as a stream or as the bytes a framework already read (with the
 *   same cap); omitted or null when the framework has none
 * @example
 * const read = await readRequestBody(req.method, req.rawHeaders, req, { limitBytes: 1_048_576 });
 * if (read.problem) return send(policy.reject(read.problem).response);
 */
export async function readRequestBody(
  method: string,
  headers: readonly string[],
  stream: AsyncIterable<Uint8Array> | Uint8Array | null | undefined,
  options: { readonly limitBytes?: number } = {},
): Promise<RequestBody> {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!stream || !requestHasBody(headers)) return NO_BODY;
  const declared = Number(headerValue(headers, "content-length"));
  if (declared > limit) return { problem: tooLarge(limit) };
  if (stream instanceof Uint8Array) return stream.byteLength > limit ? { problem: tooLarge(limit) } : judgeBytes(method, headers, stream);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Iterated by hand: leaving a `for await` would destroy a Node request and its socket before
  // the 413 is written; an abandoned iterator leaves the rest for the server to discard.
  const it = stream[Symbol.asyncIterator]();
  for (let r = await it.next(); !r.done; r = await it.next()) {
    size += r.value.byteLength;
    if (size > limit) return { problem: tooLarge(limit) };
    chunks.push(r.value);
  }
  return judgeBytes(method, headers, concat(chunks, size));
}

/** The whole body, read: parsed when JSON, else its text for the credential check (and 415 on a body method). */
function judgeBytes(method: string, headers: readonly string[], bytes: Uint8Array): RequestBody {
  if (bytes.byteLength === 0) return NO_BODY; // e.g. chunked with no bytes: no body, whatever its type
  const contentType = headerValue(headers, "content-type");
  if (isJsonMediaType(contentType)) {
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      return { text: lossyUtf8.decode(bytes), problem: notUtf8() };
    }
    if (text.trim() === "") return NO_BODY;
    try {
      return { body: JSON.parse(text) as unknown };
    } catch {
      return { rawBody: text };
    }
  }
  const text = lossyUtf8.decode(bytes);
  const form = isFormMediaType(contentType);
  const judged: RequestBody = form ? { text, form } : { text };
  // A body on GET/DELETE/...: judged, then ignored.
  return BODY_METHODS.has(method) ? { ...judged, problem: unsupported() } : judged;
}

/**
 * Reads a JSON body: `readRequestBody` without the gate's extras. Returns the 413/415 problem
 * (or 400 `invalid_body` for JSON that is not valid UTF-8) itself; the text of other bodies is
 * dropped, unchecked.
 * @example
 * const read = await readJsonBody(req.method, req.rawHeaders, req, { limitBytes: 1_048_576 });
 * if (isPolicyError(read)) return send(policy.reject(read).response);
 */
export async function readJsonBody(
  method: string,
  headers: readonly string[],
  stream: AsyncIterable<Uint8Array> | null | undefined,
  options: { readonly limitBytes?: number } = {},
): Promise<ReadBody | PolicyError> {
  const read = await readRequestBody(method, headers, stream, options);
  if (read.problem) return read.problem;
  if (read.body !== undefined) return { body: read.body };
  return read.rawBody !== undefined ? { rawBody: read.rawBody } : {};
}

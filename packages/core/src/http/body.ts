import { headerValue } from "../credentials";
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

/** True for `application/json` and `application/*+json`, any parameters, UTF-8 (or no charset). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [essence = "", ...params] = contentType.split(";");
  const type = essence.trim().toLowerCase();
  if (type !== "application/json" && !/^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type)) return false;
  for (const p of params) {
    const [name = "", value = ""] = p.split("=");
    if (name.trim().toLowerCase() === "charset" && !/^"?utf-8"?$/i.test(value.trim())) return false;
  }
  return true;
}

function tooLarge(limit: number): PolicyError {
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
   * A form-urlencoded body's fields, for the credential-location check only (never the
   * handler's body). A repeated name starts another object, so that no value is hidden.
   */
  readonly form?: readonly Readonly<Record<string, string>>[];
  /** 413 `payload_too_large` or 415 `unsupported_media_type`: answered unless a misplaced credential is found first. */
  readonly problem?: PolicyError;
}

/** What `readRequestBody` returns for a request without a body (frozen, shared). */
export const NO_BODY: RequestBody = Object.freeze({});

function parseForm(text: string): Record<string, string>[] {
  const layers: Record<string, string>[] = [];
  const seen = new Map<string, number>();
  for (const [name, value] of new URLSearchParams(text)) {
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    // Null prototype: a field named __proto__ is a field like any other.
    (layers[n] ??= Object.create(null) as Record<string, string>)[name] = value;
  }
  return layers;
}

/**
 * Reads a request body once, with a size cap, whatever its media type. A JSON body is `body`
 * (or `rawBody` when it does not parse: the handler answers 400 `invalid_body`, stored for
 * replay). Anything else is read only to be judged: a form-urlencoded body's fields come back as
 * `form` for the credential-location check; on POST/PUT/PATCH a body that is not JSON is 415
 * `unsupported_media_type` (`problem`); a body over the cap is 413 `payload_too_large`.
 * @param headers the raw header list (`req.rawHeaders`)
 * @param stream the body bytes; omitted or null when the framework has none
 * @example
 * const read = await readRequestBody(req.method, req.rawHeaders, req, { limitBytes: 1_048_576 });
 * if (read.problem) return send(policy.reject(read.problem).response);
 */
export async function readRequestBody(
  method: string,
  headers: readonly string[],
  stream: AsyncIterable<Uint8Array> | null | undefined,
  options: { readonly limitBytes?: number } = {},
): Promise<RequestBody> {
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!stream || !requestHasBody(headers)) return NO_BODY;
  const declared = Number(headerValue(headers, "content-length"));
  if (declared > limit) return { problem: tooLarge(limit) };
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
  if (size === 0) return NO_BODY; // e.g. chunked with no bytes: no body, whatever its type
  const contentType = headerValue(headers, "content-type");
  if (isJsonMediaType(contentType)) {
    const text = Buffer.concat(chunks, size).toString("utf8");
    if (text.trim() === "") return NO_BODY;
    try {
      return { body: JSON.parse(text) as unknown };
    } catch {
      return { rawBody: text };
    }
  }
  const form = isFormMediaType(contentType) ? parseForm(Buffer.concat(chunks, size).toString("utf8")) : undefined;
  if (BODY_METHODS.has(method)) return form ? { form, problem: unsupported() } : { problem: unsupported() };
  return form ? { form } : NO_BODY; // a body on GET/DELETE/...: judged, then ignored
}

/**
 * Reads a JSON body: `readRequestBody` without the gate's extras. Returns the 413/415 problem
 * itself; a form body's fields are dropped.
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

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

function hasBody(headers: readonly string[]): boolean {
  const length = headerValue(headers, "content-length");
  if (length !== undefined) return length.trim() !== "0";
  return headerValue(headers, "transfer-encoding") !== undefined;
}

/**
 * Reads a request body once, with a size cap, for the pipeline (fingerprint, credential-in-body
 * rule) and the handler. A JSON body that does not parse is returned as `rawBody` (the handler
 * answers 400 `invalid_body`, stored for replay); only the transport problems are returned here:
 * 413 `payload_too_large` and, on POST/PUT/PATCH, 415 `unsupported_media_type` for a body that
 * is not JSON. A body on other methods is read only when it is JSON (for the credential rule).
 * @param headers the raw header list (`req.rawHeaders`)
 * @param stream the body bytes; omitted or null when the framework has none
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
  const limit = options.limitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  if (!stream || !hasBody(headers)) return {};
  const contentType = headerValue(headers, "content-type");
  const json = isJsonMediaType(contentType);
  if (!json && contentType !== undefined) return BODY_METHODS.has(method) ? unsupported() : {};
  const declared = Number(headerValue(headers, "content-length"));
  if (declared > limit) return tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Iterated by hand: leaving a `for await` would destroy a Node request and its socket before
  // the 413 is written; an abandoned iterator leaves the rest for the server to discard.
  const it = stream[Symbol.asyncIterator]();
  for (let r = await it.next(); !r.done; r = await it.next()) {
    size += r.value.byteLength;
    if (size > limit) return tooLarge(limit);
    chunks.push(r.value);
  }
  // A chunked request with no Content-Type and no bytes has no body; with bytes it is not JSON.
  if (!json) return size > 0 && BODY_METHODS.has(method) ? unsupported() : {};
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { rawBody: text };
  }
}

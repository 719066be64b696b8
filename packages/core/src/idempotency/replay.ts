import type { StoredResponse } from "./store";

/** Response headers kept with an idempotency record and replayed (lower-case). */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = [
  "content-type", "content-language", "content-location", "location", "etag", "last-modified", "link",
];

/**
 * Keeps only the allow-listed headers of a handler's response, names lower-cased.
 * @example const stored = toStoredResponse(201, res.headers, body, DEFAULT_REPLAY_HEADERS);
 */
export function toStoredResponse(
  status: number,
  headers: Iterable<readonly [string, string]> | Readonly<Record<string, string | number | readonly string[] | undefined>>,
  body: string,
  allow: readonly string[] = DEFAULT_REPLAY_HEADERS,
): StoredResponse {
  const kept: Record<string, string> = {};
  const entries = Symbol.iterator in headers
    ? (headers as Iterable<readonly [string, string]>)
    : Object.entries(headers as Record<string, unknown>);
  for (const [name, value] of entries) {
    const n = name.toLowerCase();
    if (!allow.includes(n) || value === undefined) continue;
    kept[n] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return { status, headers: kept, body };
}

import { isPolicyError, policyError, type PolicyError } from "../problems";

/** A position in a newest-first list: the last item of the previous page. */
export interface Cursor {
  readonly created_at: string;
  readonly id: string;
}

/** The list envelope. */
export interface Page<T> {
  readonly data: readonly T[];
  readonly next_cursor: string | null;
  readonly has_more: boolean;
}

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
/** Cursors longer than this are refused before decoding. */
export const MAX_CURSOR_LENGTH = 1024;

// ISO 8601 date-time with an explicit offset (2026-04-02T10:12:34+00:00, fractional seconds allowed).
// A real calendar date and time of day: `2026-02-30` or `25:00` is not one (Date.parse would roll it over).
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

function isDateTime(v: string): boolean {
  const m = ISO_DATE_TIME.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d);
  const offsetOk = m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h <= 23 && mi <= 59 && sec <= 59 && offsetOk && !Number.isNaN(Date.parse(v));
}
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * base64url, no padding, of `{"created_at": …, "id": …}` (the quickstart's format).
 * @example encodeCursor({ created_at: last.created_at, id: last.id }) // the next_cursor of a page
 */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify({ created_at: cursor.created_at, id: cursor.id }), "utf8").toString("base64url");
}

function invalidCursor(): PolicyError {
  return policyError("invalid_cursor", "The cursor is not one this API issued; start again without `cursor`.", { param: "cursor" });
}

/**
 * Decodes a cursor strictly: canonical base64url with no padding, a JSON object with exactly
 * `created_at` (ISO 8601 with offset) and `id` (1-200 characters), nothing else.
 * @example const cursor = decodeCursor(raw); if (isPolicyError(cursor)) return cursor; // 400 invalid_cursor
 */
export function decodeCursor(raw: string): Cursor | PolicyError {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_CURSOR_LENGTH || !BASE64URL.test(raw) || raw.length % 4 === 1) {
    return invalidCursor();
  }
  const bytes = Buffer.from(raw, "base64url");
  if (bytes.toString("base64url") !== raw) return invalidCursor(); // non-canonical trailing bits
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return invalidCursor();
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return invalidCursor();
  const keys = Object.keys(value);
  const { created_at, id } = value as Record<string, unknown>;
  if (keys.length !== 2 || typeof created_at !== "string" || typeof id !== "string") return invalidCursor();
  if (!isDateTime(created_at)) return invalidCursor();
  if (id.length === 0 || id.length > 200) return invalidCursor();
  return { created_at, id };
}

/** The `limit` parameter: absent -> 10; otherwise a decimal integer 1..100, sent once. */
export function parseLimit(values: readonly string[]): number | PolicyError {
  if (values.length === 0) return DEFAULT_LIMIT;
  const bad = () =>
    policyError("invalid_parameter", `\`limit\` must be an integer from 1 to ${MAX_LIMIT}.`, { param: "limit" });
  if (values.length > 1) return bad();
  const v = values[0] as string;
  if (!/^[0-9]{1,3}$/.test(v)) return bad();
  const n = Number(v);
  return n >= 1 && n <= MAX_LIMIT ? n : bad();
}

/**
 * Reads `limit` and `cursor` from a raw query string: the page, or 400 `invalid_parameter` /
 * `invalid_cursor`.
 * @example
 * const page = parsePageQuery(request.query);
 * if (isPolicyError(page)) throw new ProblemError(page.code, page.detail, page.extensions);
 * return paginate(projects, page);
 */
export function parsePageQuery(query: string | undefined): { readonly limit: number; readonly cursor: Cursor | null } | PolicyError {
  const params = new URLSearchParams(query ?? "");
  const limit = parseLimit(params.getAll("limit"));
  if (typeof limit !== "number") return limit;
  const cursors = params.getAll("cursor");
  if (cursors.length > 1) return invalidCursor();
  if (cursors.length === 0) return { limit, cursor: null };
  const cursor = decodeCursor(cursors[0] as string);
  return isPolicyError(cursor) ? cursor : { limit, cursor };
}

/**
 * Newest first: created_at (as an instant), then id, descending. Negative when `a` comes first.
 * @example items.sort(compareCursorOrder) // newest first: created_at, then id, descending
 */
export function compareCursorOrder(a: Cursor, b: Cursor): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * One page of `items` after `cursor`, newest first. Items created while a client pages are
 * newer than its cursor, so they never shift later pages.
 * @example paginate(projects, { limit: 10, cursor: null })
 */
export function paginate<T extends Cursor>(items: Iterable<T>, page: { readonly limit: number; readonly cursor: Cursor | null }): Page<T> {
  const after = page.cursor;
  const sorted = [...items].sort(compareCursorOrder);
  const start = after ? sorted.findIndex((it) => compareCursorOrder(it, after) > 0) : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const data = rest.slice(0, page.limit);
  const has_more = rest.length > page.limit;
  const last = data[data.length - 1];
  return { data, has_more, next_cursor: has_more && last ? encodeCursor(last) : null };
}

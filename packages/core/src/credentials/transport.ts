import { policyError, type PolicyError } from "../problems";
import type { PolicyRequest } from "./request";

/** The realm of every `WWW-Authenticate: Bearer` challenge. */
export const REALM = "alloovium";

/** Where a credential was found outside the Authorization header. */
export type CredentialLocation = "query" | "cookie" | "body" | "header";

/** Options of the transport check. Credentials are recognised by shape; there are no name lists. */
export interface TransportOptions {
  /**
   * Headers that a trusted proxy in front of the API sets with a token of its own, left out of
   * the check (Cloudflare Access's `Cf-Access-Jwt-Assertion`, AWS ALB's `X-Amzn-Oidc-Data`,
   * Google IAP's `X-Goog-Iap-Jwt-Assertion`). Names in any case. `Authorization` is never checked.
   * @default []
   * @example createPolicy({ ..., transport: { ignoredHeaders: ["cf-access-jwt-assertion"] } })
   */
  readonly ignoredHeaders?: readonly string[];
}

/** The bearer credential found in the Authorization header. */
export interface BearerCredential {
  readonly kind: "api_key" | "jwt" | "opaque";
  readonly token: string;
}

// RFC 6750 section 2.1: b64token.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `WWW-Authenticate` value; no `error` attribute when no credential was sent (RFC 6750 3.1). */
export function bearerChallenge(error?: "invalid_request" | "invalid_token" | "insufficient_scope", scope?: string): string {
  let v = `Bearer realm="${REALM}"`;
  if (error) v += `, error="${error}"`;
  if (scope !== undefined) v += `, scope="${scope}"`;
  return v;
}

function challenge(error?: "invalid_request" | "invalid_token"): Record<string, string> {
  return { "www-authenticate": bearerChallenge(error) };
}

// Character classes as tables of char codes: the scan runs on every header of every request.
const BASE62 = new Uint8Array(128);
const BASE64URL = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[0-9A-Za-z]/.test(ch)) BASE62[c] = BASE64URL[c] = 1;
}
BASE64URL[0x2d] = BASE64URL[0x5f] = 1; // - _
const isBase62 = (c: number): boolean => c < 128 && BASE62[c] === 1;
const isBase64url = (c: number): boolean => c < 128 && BASE64URL[c] === 1;

/** `ak_live_`/`ak_test_` and 38 base62 characters (contract section 1; the checksum is not required). */
const KEY_BODY = 38;
const KEY_LENGTH = 8 + KEY_BODY;
// The shortest base64url of a JSON object with an `alg` member (`{"alg":0}`, 9 bytes).
const MIN_JWT_HEADER = 12;

/** Where a credential sits in a string: `[start, end)`. */
export interface CredentialSpan {
  readonly start: number;
  readonly end: number;
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
const isLetterEscape = (c: number): boolean => c === 0x6e || c === 0x72 || c === 0x74 || c === 0x62 || c === 0x66; // n r t b f

/**
 * The length of a JSON escape (`\n`, `\u00e9`) that starts at `i`, or 0: in the raw text of a
 * JSON body, `"line\nak_live_..."` holds a key that only looks glued to the `n` before it.
 */
function escapeAt(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x5c) return 0;
  const c = s.charCodeAt(i + 1);
  if (isLetterEscape(c)) return 2;
  if (c !== 0x75) return 0;
  for (let j = i + 2; j < i + 6; j++) if (!isHex(s.charCodeAt(j))) return 0;
  return 6;
}

function keyAt(s: string, i: number): boolean {
  // Glued to the text before it, unless that text ends a JSON escape.
  if (i > 0 && isBase62(s.charCodeAt(i - 1)) && escapeAt(s, i - 2) !== 2 && escapeAt(s, i - 6) !== 6) return false;
  if (!s.startsWith("live_", i + 3) && !s.startsWith("test_", i + 3)) return false;
  const end = i + KEY_LENGTH;
  if (end > s.length) return false;
  for (let j = i + 8; j < end; j++) if (!isBase62(s.charCodeAt(j))) return false;
  return end === s.length || !isBase62(s.charCodeAt(end));
}

/** True when a base64url text decodes to a JSON object with an `alg` member (a JOSE header). */
function isJoseHeader(part: string): boolean {
  // A JSON object starts with `{` (base64 `e`) or white space (`I`, `C`, `D`): most candidates stop here.
  const first = part.charCodeAt(0);
  if ((first !== 0x65 && first !== 0x49 && first !== 0x43 && first !== 0x44) || part.length % 4 === 1) return false;
  let text: string;
  try {
    text = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (part.length % 4)) % 4));
  } catch {
    return false;
  }
  try {
    const header: unknown = JSON.parse(text); // bytes as Latin-1: the same structure as UTF-8
    return header !== null && typeof header === "object" && !Array.isArray(header) && Object.prototype.hasOwnProperty.call(header, "alg");
  } catch {
    return false;
  }
}

/**
 * The first credential in `s` by shape, or null: an `ak_live_`/`ak_test_` key of the right length
 * and alphabet not glued to other base62 characters, or a JWT (three base64url parts, the first
 * a JSON object with `alg`). Costs two `indexOf` scans on a string holding neither `ak_` nor a
 * dot after 12 base64url characters.
 */
export function findCredential(s: string): CredentialSpan | null {
  for (let i = s.indexOf("ak_"); i >= 0; i = s.indexOf("ak_", i + 3)) {
    if (keyAt(s, i)) return { start: i, end: i + KEY_LENGTH };
  }
  for (let dot = s.indexOf("."); dot >= 0; dot = s.indexOf(".", dot + 1)) {
    let start = dot;
    while (start > 0 && isBase64url(s.charCodeAt(start - 1))) start--;
    const escape = start > 0 ? escapeAt(s, start - 1) : 0;
    if (escape > 0) start += escape - 1; // the letters of a JSON escape are not the JWT's
    if (dot - start < MIN_JWT_HEADER) continue;
    let second = dot + 1;
    while (second < s.length && isBase64url(s.charCodeAt(second))) second++;
    if (s.charCodeAt(second) !== 0x2e) continue;
    let end = second + 1;
    while (end < s.length && isBase64url(s.charCodeAt(end))) end++;
    if (isJoseHeader(s.slice(start, dot))) return { start, end };
  }
  return null;
}

const MAX_PARAMETER = 200;

/** `name` with every credential in it replaced by `[redacted]`. */
function scrub(name: string): string {
  let out = name;
  // Each pass replaces at least 14 characters with 10: it ends.
  for (let at = findCredential(out); at; at = findCredential(out)) out = `${out.slice(0, at.start)}[redacted]${out.slice(at.end)}`;
  return out;
}

/** A name fit for the problem: scrubbed, and at most 200 characters. */
function redact(name: string): string {
  const out = scrub(name);
  return out.length > MAX_PARAMETER ? `${out.slice(0, MAX_PARAMETER)}…` : out;
}

function exposed(location: CredentialLocation, name?: string): PolicyError {
  const where =
    location === "query" ? "the query string" :
    location === "cookie" ? "a cookie" :
    location === "body" ? "the request body" : "a header other than Authorization";
  const advice = location === "query"
    ? " A credential in a URL must be treated as exposed: revoke it and create a new one."
    : location === "header" ? "" : " Treat it as exposed: revoke it and create a new one.";
  const parameter = name === undefined ? undefined : redact(name);
  const named = parameter === undefined ? "" : parameter === "" ? " (the whole body)" : ` (${parameter})`;
  return policyError(
    "credential_location_not_allowed",
    `Credentials are accepted only in the Authorization header as "Bearer <credential>"; one was found in ${where}${named}.${advice}`,
    parameter === undefined ? { location } : { location, parameter },
    challenge("invalid_request"),
  );
}

function decodeComponent(raw: string, plus: boolean): string {
  const text = plus ? raw.replace(/\+/g, " ") : raw;
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // as URLSearchParams does with a bad escape: kept as written
  }
}

/**
 * A credential among `name=value` pairs (a query string, a form body, a Cookie header): in the
 * raw text (a key needs no escaping) and, when anything is escaped, in each decoded name and value.
 * Answers the decoded name of the pair that holds it.
 */
function findInPairs(text: string, separator: string, plus: boolean): string | null {
  const at = findCredential(text);
  if (at) {
    // Neither a key nor a JWT holds a separator or `=`: the span lies inside one pair.
    const start = text.lastIndexOf(separator, at.start) + 1;
    const stop = text.indexOf(separator, at.end);
    const pair = text.slice(start, stop < 0 ? text.length : stop);
    const eq = pair.indexOf("=");
    return decodeComponent((eq < 0 ? pair : pair.slice(0, eq)).trim(), plus);
  }
  if (!text.includes("%") && !(plus && text.includes("+"))) return null;
  for (const pair of text.split(separator)) {
    const eq = pair.indexOf("=");
    const name = decodeComponent((eq < 0 ? pair : pair.slice(0, eq)).trim(), plus);
    if (findCredential(name) || (eq >= 0 && findCredential(decodeComponent(pair.slice(eq + 1), plus)))) return name;
  }
  return null;
}

/** The containers a walk is inside, and the position of the next member in each. */
interface WalkFrame {
  readonly value: object;
  readonly keys: string[] | null;
  next: number;
}

function escapePointer(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function pointerOf(stack: readonly WalkFrame[], last?: string): string {
  let out = "";
  for (const f of stack) out += "/" + (f.keys === null ? String(f.next - 1) : escapePointer(f.keys[f.next - 1] as string));
  return last === undefined ? out : `${out}/${escapePointer(last)}`;
}

const lossy = new TextDecoder("utf-8");

/**
 * The JSON Pointer of the first credential in a parsed body (a string at any depth, or a
 * member name), or null. Iterative: any depth `JSON.parse` accepts. Bytes (a body another parser
 * left raw) are read as text; a cycle is walked once.
 */
function findInValue(root: unknown): string | null {
  const stack: WalkFrame[] = [];
  const open = new Set<object>();
  let next: unknown = root;
  for (;;) {
    if (typeof next === "string") {
      if (findCredential(next)) return pointerOf(stack);
    } else if (next !== null && typeof next === "object" && !open.has(next)) {
      if (ArrayBuffer.isView(next)) {
        if (findCredential(lossy.decode(next as Uint8Array))) return pointerOf(stack);
      } else {
        const keys = Array.isArray(next) ? null : Object.keys(next);
        // Scrubbed before it is escaped: `~1` would glue a key in `/ak_live_...` to the `1`.
        if (keys) for (const k of keys) if (findCredential(k)) return pointerOf(stack, scrub(k));
        open.add(next);
        stack.push({ value: next, keys, next: 0 });
      }
    }
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return null;
      const i = top.next;
      if (top.keys === null ? i < (top.value as readonly unknown[]).length : i < top.keys.length) {
        top.next = i + 1;
        next = top.keys === null ? (top.value as readonly unknown[])[i] : (top.value as Record<string, unknown>)[top.keys[i] as string];
        break;
      }
      stack.pop();
      open.delete(top.value);
    }
  }
}

const ignoredSets = new WeakMap<readonly string[], ReadonlySet<string>>();

function ignoredHeaders(options: TransportOptions | undefined): ReadonlySet<string> | undefined {
  const list = options?.ignoredHeaders;
  if (!list || list.length === 0) return undefined;
  let set = ignoredSets.get(list);
  if (!set) ignoredSets.set(list, (set = new Set(list.map((n) => n.toLowerCase()))));
  return set;
}

/**
 * Throws a `TypeError` naming the option when `options` is not a valid `TransportOptions`
 * (for factories that take it, such as `createPolicy`).
 */
export function assertTransportOptions(options: unknown, owner = "createPolicy"): asserts options is TransportOptions | undefined {
  if (options === undefined) return;
  const list = (options as TransportOptions | null)?.ignoredHeaders;
  if (typeof options !== "object" || options === null || (list !== undefined && (!Array.isArray(list) || list.some((n) => typeof n !== "string" || n === "")))) {
    throw new TypeError(`${owner}: \`transport.ignoredHeaders\` must be an array of header names`);
  }
}

/**
 * A credential in the text of a body that is not JSON (any media type), or null: a
 * form-urlencoded body's fields by name (`parameter`), any other text as a whole.
 * @example checkBodyText("name=Tower&note=ak_live_...", { form: true }) // parameter "note"
 */
export function checkBodyText(text: string, options: { readonly form?: boolean } = {}): PolicyError | null {
  if (options.form) {
    const name = findInPairs(text, "&", true);
    return name === null ? null : exposed("body", name);
  }
  return findCredential(text) ? exposed("body") : null;
}

/**
 * The first credential found outside the Authorization header, or null. Checked before
 * anything else, so a key in the body with no Authorization header is still this problem.
 * A credential is recognised by its shape, not its name (contract section 1): an
 * `ak_live_`/`ak_test_` key or a JWT, in any query parameter (name or value), any cookie, any
 * header but Authorization, any string or member name at any depth of the parsed body, or the
 * text of a body that did not parse (`rawBody`). The problem names the place (`parameter`: the
 * query or cookie name, the lower-case header name, a JSON Pointer into the body), never the
 * credential.
 * @example checkCredentialLocation({ method: "GET", path: "/", headers: [], query: "q=ak_live_..." })
 */
export function checkCredentialLocation(req: PolicyRequest, options?: TransportOptions): PolicyError | null {
  if (req.query) {
    const name = findInPairs(req.query, "&", true);
    if (name !== null) return exposed("query", name);
  }

  const h = req.headers;
  let ignored: ReadonlySet<string> | undefined | null = null;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const raw = h[i] as string;
    if (raw.length === 13 && raw.toLowerCase() === "authorization") continue;
    const value = h[i + 1] as string;
    // The hot path: a few indexOf scans per value and name, no regex, no lower-casing.
    if (findCredential(value) === null && findCredential(raw) === null) {
      // Cookie values may be percent-encoded (the `cookie` package decodes them): look closer at one with a %.
      if (!(raw.length === 6 && value.includes("%") && raw.toLowerCase() === "cookie")) continue;
    }
    const name = raw.toLowerCase();
    if (ignored === null) ignored = ignoredHeaders(options);
    if (ignored?.has(name)) continue;
    if (name === "cookie") {
      const cookie = findInPairs(value, ";", false);
      if (cookie !== null) return exposed("cookie", cookie);
      continue;
    }
    return exposed("header", scrub(raw).toLowerCase()); // scrubbed first: a lower-cased JWT no longer reads as one
  }
  if (req.cookies) {
    for (const [n, v] of Object.entries(req.cookies)) if (findCredential(n) || (typeof v === "string" && findCredential(v))) return exposed("cookie", n);
  }

  if (req.body !== undefined) {
    const pointer = findInValue(req.body);
    if (pointer !== null) return exposed("body", pointer);
  }
  if (req.rawBody !== undefined && findCredential(req.rawBody)) return exposed("body");
  return null;
}

/**
 * Reads the bearer credential from the Authorization header(s): exactly one header, scheme
 * `Bearer` in any case, exactly one b64token after one space and nothing else.
 */
export function readBearer(req: PolicyRequest): BearerCredential | PolicyError {
  const h = req.headers;
  let value: string | undefined;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const n = h[i] as string;
    if (n.length !== 13 || n.toLowerCase() !== "authorization") continue;
    if (value !== undefined) {
      return policyError("duplicate_credentials", "Send exactly one Authorization header.", undefined, challenge("invalid_request"));
    }
    value = h[i + 1] as string;
  }
  if (value === undefined || value.trim() === "") {
    return policyError(
      "missing_credentials",
      "Authenticate with an API key or an OAuth access token: Authorization: Bearer <credential>.",
      undefined,
      challenge(),
    );
  }
  const sp = value.indexOf(" ");
  const scheme = sp < 0 ? value : value.slice(0, sp);
  if (scheme.toLowerCase() !== "bearer") {
    if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(scheme) && sp > 0) {
      return policyError(
        "unsupported_auth_scheme",
        `The "${scheme.length <= 32 ? scheme : scheme.slice(0, 32)}" authentication scheme is not supported; use Authorization: Bearer <credential>.`,
        undefined,
        challenge(),
      );
    }
    return policyError("malformed_authorization", 'The Authorization header must be "Bearer <credential>".', undefined, challenge("invalid_request"));
  }
  const token = sp < 0 ? "" : value.slice(sp + 1);
  if (!B64TOKEN.test(token)) {
    return policyError(
      "malformed_authorization",
      'The Authorization header must be "Bearer <credential>": one space, then a single token with nothing after it.',
      undefined,
      challenge("invalid_request"),
    );
  }
  if (token.startsWith("ak_")) return { kind: "api_key", token };
  let dots = 0;
  for (let i = 0; i < token.length; i++) if (token.charCodeAt(i) === 46) dots++;
  return { kind: dots === 2 ? "jwt" : "opaque", token };
}

/** The 401 `invalid_token`/`invalid_api_key`-style challenge headers. */
export const INVALID_TOKEN_CHALLENGE: Readonly<Record<string, string>> = Object.freeze(challenge("invalid_token"));

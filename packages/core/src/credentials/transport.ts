import { BARE_CHALLENGE, INVALID_REQUEST_CHALLENGE } from "../problems/challenge";
import { policyError, type PolicyError } from "../problems/problem";
import type { PolicyRequest } from "../pipeline/request";

/** Where a credential was found outside the Authorization header. */
export type CredentialLocation = "query" | "cookie" | "body" | "header" | "path";

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

/** `ak_live_`/`ak_test_` and 38 base62 characters: the shape of an API key (the checksum is not required to recognise one). */
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

/**
 * Work counters of the credential scan, for tests that bound the cost of adversarial input:
 * `ak_` candidates probed, dots visited, base64url characters decoded and JOSE headers parsed.
 * @internal
 */
export const credentialScanWork = { keyProbes: 0, dots: 0, decodedChars: 0, parses: 0 };

const B64_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 64; c++) B64_VALUE["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".charCodeAt(c)] = c;
const isJsonSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
// JSON.parse attempts per base64url run that fail: a bound on the work, whatever the run holds.
const MAX_FAILED_PARSES = 4;

/**
 * The start of a JOSE header ending at `dot` (the base64url run `[runStart, dot)`), or -1. A
 * header starts at the run's start or after a `-`/`_` in it (as a key may follow `-`/`_`); it
 * must decode to `{` after optional white space and hold `"alg"` before it is parsed. Each
 * alignment class (start mod 4) of the run is decoded at most once, and at most
 * `MAX_FAILED_PARSES` parses fail: linear in the run.
 */
function joseHeaderStart(s: string, runStart: number, dot: number): number {
  let failed = 0;
  const decoded: (string | null)[] = [null, null, null, null];
  const origin = [0, 0, 0, 0];
  const lastAlg = [-1, -1, -1, -1];
  const spaceScan = [0, 0, 0, 0];
  for (let c = runStart; dot - c >= MIN_JWT_HEADER; c++) {
    if (c > runStart) {
      const before = s.charCodeAt(c - 1);
      if (before !== 0x2d && before !== 0x5f) continue;
    }
    // First byte: `{` (0x7b) or JSON white space, from the first two characters alone.
    const a = B64_VALUE[s.charCodeAt(c)] ?? -1;
    const b = B64_VALUE[s.charCodeAt(c + 1)] ?? -1;
    if (a < 0 || b < 0) continue;
    const first = (a << 2) | (b >> 4);
    if (first !== 0x7b && !isJsonSpace(first)) continue;
    const k = c & 3;
    let text = decoded[k] ?? null;
    if (text === null) {
      const len = dot - c;
      const usable = len - (len % 4 === 1 ? 1 : 0);
      credentialScanWork.decodedChars += usable;
      const part = s.slice(c, c + usable).replace(/-/g, "+").replace(/_/g, "/");
      try {
        text = atob(part + "==".slice(0, (4 - (usable % 4)) % 4));
      } catch {
        continue;
      }
      decoded[k] = text;
      origin[k] = c;
      lastAlg[k] = text.lastIndexOf('"alg"');
    }
    const offset = ((c - (origin[k] as number)) / 4) * 3;
    let p = Math.max(offset, spaceScan[k] as number);
    while (p < text.length && isJsonSpace(text.charCodeAt(p))) p++;
    spaceScan[k] = p;
    if (text.charCodeAt(p) !== 0x7b || (lastAlg[k] as number) < p) continue;
    credentialScanWork.parses++;
    try {
      const header: unknown = JSON.parse(offset === 0 ? text : text.slice(offset)); // bytes as Latin-1: the same structure as UTF-8
      if (header !== null && typeof header === "object" && !Array.isArray(header) && Object.prototype.hasOwnProperty.call(header, "alg")) return c;
    } catch {
      // not JSON
    }
    if (++failed >= MAX_FAILED_PARSES) return -1;
  }
  return -1;
}

/** The first key-shaped span starting at or after `from`, or null. */
function findKey(s: string, from: number): CredentialSpan | null {
  for (let i = s.indexOf("ak_", from); i >= 0; i = s.indexOf("ak_", i + 3)) {
    credentialScanWork.keyProbes++;
    if (keyAt(s, i)) return { start: i, end: i + KEY_LENGTH };
  }
  return null;
}

/** The first JWT-shaped span starting at or after `from`, or null. */
function findJwt(s: string, from: number): CredentialSpan | null {
  for (let dot = s.indexOf(".", from); dot >= 0; dot = s.indexOf(".", dot + 1)) {
    credentialScanWork.dots++;
    let start = dot;
    while (start > from && isBase64url(s.charCodeAt(start - 1))) start--;
    const escape = start > 0 ? escapeAt(s, start - 1) : 0;
    if (escape > 0) start += escape - 1; // the letters of a JSON escape are not the JWT's
    if (dot - start < MIN_JWT_HEADER) continue;
    let second = dot + 1;
    while (second < s.length && isBase64url(s.charCodeAt(second))) second++;
    if (s.charCodeAt(second) !== 0x2e) continue;
    let end = second + 1;
    while (end < s.length && isBase64url(s.charCodeAt(end))) end++;
    const header = joseHeaderStart(s, start, dot);
    if (header >= 0) return { start: header, end };
  }
  return null;
}

/**
 * The first credential in `s` at or after `from`, by shape, or null: an `ak_live_`/`ak_test_`
 * key of the right length and alphabet not glued to other base62 characters, or a JWT (three
 * base64url parts, the first a JSON object with `alg`, not glued to base62 characters either:
 * it may follow `-` or `_`). Costs two `indexOf` scans on a string holding neither `ak_` nor a
 * dot after 12 base64url characters; linear in the length of `s` whatever it holds.
 */
export function findCredential(s: string, from = 0): CredentialSpan | null {
  // Most header names and values are shorter than the shortest JWT (a 12-character header and
  // two dots) or a key: they are answered by their length alone.
  const left = s.length - from;
  if (left < MIN_JWT_HEADER + 2) return null;
  const key = left >= KEY_LENGTH ? findKey(s, from) : null;
  const jwt = findJwt(s, from);
  if (key === null) return jwt;
  return jwt === null || key.start <= jwt.start ? key : jwt;
}

const MAX_PARAMETER = 200;
const REDACTED = "[redacted]";

/**
 * `text` with every credential in it replaced by `[redacted]`, in one pass: the next key and the
 * next JWT are each looked for again only once the output has passed them. With `limit`, the
 * output is cut a little past `limit` characters (the caller cuts and marks it), all scrubbed.
 * @example scrubCredentials(`key=${key}`) // "key=[redacted]"
 */
export function scrubCredentials(text: string, limit = Infinity): string {
  let out = "";
  let at = 0;
  for (const span of credentialSpans(text)) {
    if (out.length + (span.start - at) > limit) break;
    out += text.slice(at, span.start) + REDACTED;
    at = span.end;
    if (out.length > limit) return out;
  }
  // Cut before the first credential not replaced: nothing past `limit` is shown.
  return out + text.slice(at, at + Math.max(0, limit + 1 - out.length));
}

/**
 * Every credential span in `text`, in order, without overlaps, in one pass: the next key and the
 * next JWT are each looked for again only once the walk has passed them.
 */
function* credentialSpans(text: string): Generator<CredentialSpan> {
  let key = findKey(text, 0);
  let jwt = findJwt(text, 0);
  let at = 0;
  for (;;) {
    if (key !== null && key.start < at) key = findKey(text, at);
    if (jwt !== null && jwt.start < at) jwt = findJwt(text, at);
    const next = key === null ? jwt : jwt === null || key.start <= jwt.start ? key : jwt;
    if (next === null) return;
    yield next;
    at = next.end;
  }
}

/**
 * A percent-encoded name (a query, form or cookie name) fit for the problem: every credential
 * in its raw text is redacted where it was found, the rest is decoded, and the decoded text is
 * scrubbed again. So neither a key found only raw (`ak_live_...%30`, glued to `0` once decoded)
 * nor one found only decoded (`%61k_live_...`) is echoed. At most 200 characters (then `…`).
 * @example redactEncoded("/x/%61k_live_...") // "/x/[redacted]"
 */
export function redactEncoded(raw: string, plus = false): string {
  let out = "";
  let at = 0;
  for (const span of credentialSpans(raw)) {
    out += decodeComponent(raw.slice(at, span.start), plus) + REDACTED;
    at = span.end;
    if (out.length > MAX_PARAMETER) return redact(out);
  }
  return redact(out + decodeComponent(raw.slice(at), plus));
}

function scrub(name: string): string {
  return scrubCredentials(name, MAX_PARAMETER);
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
    location === "body" ? "the request body" :
    location === "path" ? "the request target outside its query string" : "a header other than Authorization";
  const advice = location === "query" || location === "path"
    ? " A credential in a URL must be treated as exposed: revoke it and create a new one."
    : location === "header" ? "" : " Treat it as exposed: revoke it and create a new one.";
  const parameter = name === undefined ? undefined : redact(name);
  const named = parameter === undefined ? "" : parameter === "" ? " (the whole body)" : ` (${parameter})`;
  return policyError(
    "credential_location_not_allowed",
    `Credentials are accepted only in the Authorization header as "Bearer <credential>"; one was found in ${where}${named}.${advice}`,
    parameter === undefined ? { location } : { location, parameter },
    INVALID_REQUEST_CHALLENGE,
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
 * Answers the name of the pair that holds it, decoded and redacted (`redactEncoded`).
 */
function findInPairs(text: string, separator: string, plus: boolean): string | null {
  const at = findCredential(text);
  if (at) {
    // Neither a key nor a JWT holds a separator or `=`: the span lies inside one pair.
    const start = text.lastIndexOf(separator, at.start) + 1;
    const stop = text.indexOf(separator, at.end);
    const pair = text.slice(start, stop < 0 ? text.length : stop);
    const eq = pair.indexOf("=");
    return redactEncoded((eq < 0 ? pair : pair.slice(0, eq)).trim(), plus);
  }
  if (!text.includes("%") && !(plus && text.includes("+"))) return null;
  for (const pair of text.split(separator)) {
    const eq = pair.indexOf("=");
    const raw = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    if (findCredential(decodeComponent(raw, plus)) || (eq >= 0 && findCredential(decodeComponent(pair.slice(eq + 1), plus)))) return redactEncoded(raw, plus);
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
  return inJsonText(text) ? exposed("body") : null;
}

/** True for a credential in `text` as written or with its percent-escapes decoded. */
const ASCII_ESCAPE = /%([0-7][0-9A-Fa-f])/g;
const asciiOf = (_: string, hex: string): string => String.fromCharCode(parseInt(hex, 16));

function inEncoded(text: string, plus: boolean): boolean {
  if (findCredential(text)) return true;
  return (text.includes("%") || (plus && text.includes("+"))) && findCredential(decodeComponent(text, plus)) !== null;
}

/**
 * True for a credential in text that may be JSON that did not parse: as written, and with its
 * `\uXXXX` escapes decoded (`"\u0061k_live_..."`), in one more linear pass when it has any.
 */
function inJsonText(text: string): boolean {
  if (findCredential(text)) return true;
  if (!text.includes("\\u")) return false;
  return findCredential(text.replace(/\\u([0-9A-Fa-f]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))) !== null;
}

/**
 * A credential anywhere in a request target (`/path?query#fragment` or an absolute URL), or
 * null: a key seen in a URL is exposed wherever it sits. In the query (also of an
 * absolute-form target without a path) it is `location: "query"` with the parameter's name; in
 * the path, the authority (userinfo) or the fragment, `location: "path"` without a parameter.
 * Each part is looked at as written and percent-decoded once.
 * @example checkRequestTarget("/x/ak_live_...") // location "path"
 */
export function checkRequestTarget(url: string): PolicyError | null {
  const hash = url.indexOf("#");
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  const q = beforeHash.indexOf("?");
  if (q >= 0) {
    const name = findInPairs(beforeHash.slice(q + 1), "&", true);
    if (name !== null) return exposed("query", name);
  }
  if (inEncoded(q < 0 ? beforeHash : beforeHash.slice(0, q), false)) return exposed("path");
  return hash >= 0 && inEncoded(url.slice(hash + 1), false) ? exposed("path") : null;
}

/**
 * The first credential found outside the Authorization header, or null. Checked before
 * anything else, so a key in the body with no Authorization header is still this problem.
 * A credential is recognised by its shape, not its name (whatever a field is called): an
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
  if (inEncoded(req.path, false)) return exposed("path");

  const h = req.headers;
  let ignored: ReadonlySet<string> | undefined | null = null;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const raw = h[i] as string;
    if (raw.length === 13 && raw.toLowerCase() === "authorization") continue;
    const value = h[i + 1] as string;
    // The hot path: a few indexOf scans per value and name, no regex, no lower-casing.
    if (findCredential(value) === null && findCredential(raw) === null) {
      // A value may carry a URL (Referer) or percent-encoded cookies: one with a % is also looked
      // at with its ASCII escapes decoded (a key and a JWT are ASCII), whatever else it holds.
      if (!value.includes("%")) continue;
      const isCookie = raw.length === 6 && raw.toLowerCase() === "cookie";
      if (!isCookie && findCredential(value.replace(ASCII_ESCAPE, asciiOf)) === null) continue;
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
  if (req.rawBody !== undefined && inJsonText(req.rawBody)) return exposed("body");
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
      return policyError("duplicate_credentials", "Send exactly one Authorization header.", undefined, INVALID_REQUEST_CHALLENGE);
    }
    value = h[i + 1] as string;
  }
  if (value === undefined || value.trim() === "") {
    return policyError(
      "missing_credentials",
      "Authenticate with an API key or an OAuth access token: Authorization: Bearer <credential>.",
      undefined,
      BARE_CHALLENGE,
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
        BARE_CHALLENGE,
      );
    }
    return policyError("malformed_authorization", 'The Authorization header must be "Bearer <credential>".', undefined, INVALID_REQUEST_CHALLENGE);
  }
  const token = sp < 0 ? "" : value.slice(sp + 1);
  if (!B64TOKEN.test(token)) {
    return policyError(
      "malformed_authorization",
      'The Authorization header must be "Bearer <credential>": one space, then a single token with nothing after it.',
      undefined,
      INVALID_REQUEST_CHALLENGE,
    );
  }
  if (token.startsWith("ak_")) return { kind: "api_key", token };
  let dots = 0;
  for (let i = 0; i < token.length; i++) if (token.charCodeAt(i) === 46) dots++;
  return { kind: dots === 2 ? "jwt" : "opaque", token };
}


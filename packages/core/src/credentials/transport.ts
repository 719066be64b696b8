import { policyError, type PolicyError } from "../problems";
import type { PolicyRequest } from "./request";

/** The realm of every `WWW-Authenticate: Bearer` challenge. */
export const REALM = "alloovium";

/** Where a credential was found outside the Authorization header. */
export type CredentialLocation = "query" | "cookie" | "body" | "header";

/** Names that carry a credential wherever they appear (query, cookie, body field). */
export const DEFAULT_CREDENTIAL_NAMES: readonly string[] = [
  "access_token", "api_key", "apikey", "api-key", "x-api-key", "x_api_key", "auth", "auth_token",
  "authorization", "bearer", "bearer_token", "key", "token",
];

/** Headers other than Authorization that clients use for keys. */
export const DEFAULT_CREDENTIAL_HEADERS: readonly string[] = [
  "x-api-key", "api-key", "apikey", "x-auth-token", "x-access-token", "x-alloovium-api-key",
];

/** Options of the transport check. */
export interface TransportOptions {
  /** @default DEFAULT_CREDENTIAL_NAMES */
  readonly credentialNames?: readonly string[];
  /** @default DEFAULT_CREDENTIAL_HEADERS */
  readonly credentialHeaders?: readonly string[];
}

/** The bearer credential found in the Authorization header. */
export interface BearerCredential {
  readonly kind: "api_key" | "jwt" | "opaque";
  readonly token: string;
}

const API_KEY_VALUE = /^\s*(?:bearer\s+)?ak_/i;
const JWT_VALUE = /^\s*(?:bearer\s+)?eyJ[\w-]*\.[\w-]*\.[\w-]*\s*$/i;
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

function looksLikeKey(value: unknown): boolean {
  return typeof value === "string" && API_KEY_VALUE.test(value);
}

// Cheap pre-check of a header value before the regex: its first non-blank letter is a or b.
function startsLikeKey(value: string): boolean {
  let i = 0;
  while (i < value.length && (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9)) i++;
  const c = value.charCodeAt(i) | 0x20;
  return (c === 0x61 || c === 0x62) && API_KEY_VALUE.test(value);
}

const lengthCache = new WeakMap<readonly string[], Set<number>>();
// A module function, not a per-call closure: this check runs on every request.
function isName(names: readonly string[], n: string): boolean {
  return names.includes(n.toLowerCase());
}

function lengthsOf(list: readonly string[]): Set<number> {
  let set = lengthCache.get(list);
  if (!set) {
    set = new Set(list.map((n) => n.length));
    lengthCache.set(list, set);
  }
  return set;
}

function exposed(location: CredentialLocation, name: string): PolicyError {
  const where =
    location === "query" ? "the query string" :
    location === "cookie" ? "a cookie" :
    location === "body" ? "the request body" : "a header other than Authorization";
  const advice = location === "query"
    ? " A credential in a URL must be treated as exposed: revoke it and create a new one."
    : location === "header" ? "" : " Treat it as exposed: revoke it and create a new one.";
  return policyError(
    "credential_location_not_allowed",
    `Credentials are accepted only in the Authorization header as "Bearer <credential>"; one was found in ${where} (${name}).${advice}`,
    { location, parameter: name },
    challenge("invalid_request"),
  );
}

function parseCookieHeader(value: string, visit: (name: string, value: string) => boolean): boolean {
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    const name = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!name) continue;
    let v = eq < 0 ? "" : part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    if (visit(name, v)) return true;
  }
  return false;
}

/**
 * The first credential found outside the Authorization header, or null. Checked before
 * anything else, so a key in the body with no Authorization header is still this problem.
 */
export function checkCredentialLocation(req: PolicyRequest, options?: TransportOptions): PolicyError | null {
  const names = options?.credentialNames ?? DEFAULT_CREDENTIAL_NAMES;
  const headerNames = options?.credentialHeaders ?? DEFAULT_CREDENTIAL_HEADERS;
  const headerLengths = lengthsOf(headerNames);

  if (req.query) {
    for (const [name, value] of new URLSearchParams(req.query)) {
      if (isName(names, name) || looksLikeKey(value) || JWT_VALUE.test(value)) return exposed("query", name);
    }
  }

  const h = req.headers;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const raw = h[i] as string;
    const value = h[i + 1] as string;
    // Hot path: lower-case a name only when its length could match a name we look for.
    const len = raw.length;
    if (len === 13 && raw.toLowerCase() === "authorization") continue;
    if (!(len === 6 || headerLengths.has(len)) && !startsLikeKey(value)) continue;
    const name = raw.toLowerCase();
    if (name === "cookie") {
      if (req.cookies) continue;
      let found: string | null = null;
      parseCookieHeader(value, (n, v) => {
        if (isName(names, n) || looksLikeKey(v)) found = n;
        return found !== null;
      });
      if (found !== null) return exposed("cookie", found);
      continue;
    }
    if (headerNames.includes(name) || looksLikeKey(value)) return exposed("header", name);
  }
  if (req.cookies) {
    for (const [n, v] of Object.entries(req.cookies)) if (isName(names, n) || looksLikeKey(v)) return exposed("cookie", n);
  }

  const body = req.body;
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    for (const [n, v] of Object.entries(body as Record<string, unknown>)) {
      if ((isName(names, n) && typeof v === "string") || looksLikeKey(v)) return exposed("body", n);
    }
  }
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

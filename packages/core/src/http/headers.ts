/** Every value of header `name` (lower-case), in order. */
export function headerValues(headers: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) out.push(headers[i + 1] as string);
  }
  return out;
}

/** The first value of header `name` (lower-case), or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const n = headers[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) return headers[i + 1] as string;
  }
  return undefined;
}

/**
 * Builds the flat header list (`[name, value, name, value, …]`) from `[name, value]` pairs or a
 * record: for tests and for adapters over Fetch `Headers`.
 * @example flattenHeaders(request.headers) // ["content-type", "application/json", …]
 */
export function flattenHeaders(
  input: Iterable<readonly [string, string]> | Readonly<Record<string, string | readonly string[] | undefined>>,
): string[] {
  const out: string[] = [];
  if (Symbol.iterator in input) {
    for (const [n, v] of input as Iterable<readonly [string, string]>) out.push(n, v);
    return out;
  }
  for (const [n, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (typeof v === "string") out.push(n, v);
    else for (const one of v) out.push(n, one);
  }
  return out;
}

const TCHAR = "!#$%&'*+\\-.^_`|~0-9A-Za-z";
// RFC 9110 section 11.2: auth-param = token BWS "=" BWS ( token / quoted-string ).
const AUTH_PARAM = new RegExp(`^[${TCHAR}]+[ \\t]*=[ \\t]*(?:[${TCHAR}]+|"(?:[^"\\\\]|\\\\.)*")$`);
const BEARER_SCHEME = /^bearer(?:[ \t]|$)/i;

/**
 * The top-level elements of an Authorization value: split at each comma outside a quoted
 * string, each element trimmed of spaces and tabs; null when a quoted string is not closed.
 */
function authorizationElements(value: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // quoted-pair
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x2c) {
      out.push(value.slice(start, i).replace(/^[ \t]+|[ \t]+$/g, ""));
      start = i + 1;
    }
  }
  if (quoted) return null;
  out.push(value.slice(start).replace(/^[ \t]+|[ \t]+$/g, ""));
  return out;
}

/**
 * The Authorization headers a Fetch value stands for. One credential (RFC 9110 section 11.4:
 * `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`) holds a top-level comma only in a list of
 * auth-params, and a Bearer credential holds none (RFC 6750: one b64token). So a value with a
 * top-level comma stays whole only when it reads as one credential of another scheme with
 * auth-params (`Digest a="x, y", b=z`: Node answers `unsupported_auth_scheme` for it as one
 * header, and so does the Fetch path); otherwise it is a join of several headers (the second
 * may be empty, a bare token, another scheme), and the policy answers `duplicate_credentials`.
 */
function splitAuthorization(value: string): string[] {
  if (value.indexOf(",") < 0) return [value];
  const elements = authorizationElements(value);
  // A quote left open is no credential: a join (`Digest a="x` then `Bearer y`) or malformed.
  if (elements === null) return value.split(",");
  if (elements.length < 2) return [value];
  const first = elements[0] as string;
  const m = /^([^ \t]+)[ \t]+(.*)$/.exec(first);
  const oneCredential = m !== null && !BEARER_SCHEME.test(first) && AUTH_PARAM.test(m[2] as string) && elements.every((e, i) => i === 0 || AUTH_PARAM.test(e));
  // Split at every top-level comma: how the elements group into headers is not knowable, and it
  // does not matter: two or more Authorization headers are refused alike.
  return oneCredential ? [value] : elements;
}

/**
 * The flat header list (`[name, value, …]`) of a Fetch `Headers`. Fetch joins repeated fields
 * into one value with ", ", so two `Authorization` headers arrive as `Bearer a, Bearer b` (or
 * `Bearer a, ` when the second is empty): such a value is split back into headers (see
 * `splitAuthorization`), and the policy answers `duplicate_credentials` as on Node (where the raw
 * header list keeps them apart).
 * @example fetchHeaderList(request.headers) // ["authorization", "Bearer a", "authorization", "Bearer b"]
 */
export function fetchHeaderList(headers: Iterable<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n === "authorization") for (const one of splitAuthorization(v)) out.push(n, one);
    else out.push(n, v);
  }
  return out;
}

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

// A second Authorization value inside a merged one: ", " then an auth-scheme and a space. No
// single credential holds this (a bearer b64token has no comma or space; an auth-param is
// `name=value`, never `name value`).
const MERGED_AUTHORIZATION = /, (?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+ )/;

/**
 * The flat header list (`[name, value, …]`) of a Fetch `Headers`. Fetch joins repeated fields
 * into one value with ", ", so two `Authorization` headers arrive as `Bearer a, Bearer b`: such a
 * value is split back into its headers, and the policy answers `duplicate_credentials` as on Node
 * (where the raw header list keeps them apart).
 * @example fetchHeaderList(request.headers) // ["authorization", "Bearer a", "authorization", "Bearer b"]
 */
export function fetchHeaderList(headers: Iterable<readonly [string, string]>): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (n === "authorization" && MERGED_AUTHORIZATION.test(v)) {
      for (const one of v.split(MERGED_AUTHORIZATION)) out.push(n, one);
    } else out.push(n, v);
  }
  return out;
}

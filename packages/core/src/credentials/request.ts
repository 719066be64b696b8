/**
 * The small, framework-neutral request every adapter builds. Nothing here is parsed ahead of
 * time except the body: the policy reads only what each check needs.
 */
export interface PolicyRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** The raw query string without the leading `?` (empty or absent when there is none). */
  readonly query?: string;
  /**
   * The raw header list as `[name, value, name, value, …]` (Node's `req.rawHeaders`), so that
   * duplicates survive. Names in any case.
   */
  readonly headers: readonly string[];
  /** Cookies when the framework already parsed them; otherwise the `Cookie` headers are read. */
  readonly cookies?: Readonly<Record<string, string>>;
  /** The parsed JSON body, when the request had one that parsed. */
  readonly body?: unknown;
  /**
   * The body's text when it did not parse as JSON (the handler answers 400 `invalid_body`,
   * and that answer is stored for replay): the fingerprint then hashes these bytes.
   */
  readonly rawBody?: string;
}

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

/** Builds the flat header list from `[name, value]` pairs or a record (for tests and Fetch adapters). */
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

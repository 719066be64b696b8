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

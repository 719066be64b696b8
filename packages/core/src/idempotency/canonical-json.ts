/**
 * Canonical JSON of a parsed value: object keys sorted by UTF-16 code units (as RFC 8785 does),
 * no white space, numbers and strings as `JSON.stringify` writes them. Two bodies that differ
 * only in key order or white space have the same canonical form.
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    if (value === undefined || typeof value === "function" || typeof value === "symbol") return "null";
    if (typeof value === "bigint") return value.toString();
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i ? "," : "") + canonicalJson(value[i]);
    return out + "]";
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += (i ? "," : "") + JSON.stringify(k) + ":" + canonicalJson(obj[k]);
  }
  return out + "}";
}

/** An array or object being written, and the position of the next member to write. */
interface Frame {
  readonly value: object;
  /** Sorted member names of an object; null for an array. */
  readonly keys: string[] | null;
  next: number;
}

/**
 * The token of a value that is not an array or object. Numbers and strings are written as
 * `JSON.stringify` writes them (lone surrogates escaped as `\udXXX`), except the values that
 * `JSON.stringify` would merge with another: `-0` (not `0`), `Infinity`, `-Infinity`, `NaN` (not
 * `null`, as `JSON.parse("1e400")` gives Infinity), `undefined` (not `null`) and a bigint (`10n`,
 * not `10`). None of these tokens is the canonical form of any other value.
 */
function scalar(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (Number.isFinite(value)) return Object.is(value, -0) ? "-0" : JSON.stringify(value);
      return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "bigint":
      return `${value}n`;
    case "object":
      return "null"; // only null reaches here
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/**
 * Canonical JSON of a parsed value: object keys sorted by UTF-16 code units (as RFC 8785 does),
 * no white space, numbers and strings as `JSON.stringify` writes them. Two values that differ
 * only in key order or white space have the same canonical form, and two values that differ in
 * anything else do not: `-0`, `Infinity`, `-Infinity`, `NaN`, `undefined` and bigints get tokens
 * of their own (`-0`, `Infinity`, `10n`, ...) that no other value produces. Iterative, so a value
 * of any depth `JSON.parse` accepts is written without growing the call stack. A function, a
 * symbol or a cycle throws a `TypeError`: they have no JSON form.
 * @example canonicalJson({ b: 1, a: [true, null] }) === '{"a":[true,null],"b":1}'
 * @example canonicalJson({ a: 1e400 }) === '{"a":Infinity}' // not '{"a":null}'
 */
export function canonicalJson(value: unknown): string {
  let out = "";
  const stack: Frame[] = [];
  const open = new Set<object>(); // the containers being written: meeting one again is a cycle
  let next: unknown = value;
  for (;;) {
    if (next !== null && typeof next === "object") {
      if (open.has(next)) throw new TypeError("canonicalJson: a cyclic value has no JSON form");
      open.add(next);
      if (Array.isArray(next)) {
        out += "[";
        stack.push({ value: next, keys: null, next: 0 });
      } else {
        out += "{";
        stack.push({ value: next, keys: Object.keys(next).sort(), next: 0 });
      }
    } else {
      out += scalar(next);
    }
    // Close every finished container, then step to the next member of the innermost open one.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return out;
      const i = top.next;
      if (top.keys === null) {
        const array = top.value as readonly unknown[];
        if (i < array.length) {
          if (i > 0) out += ",";
          top.next = i + 1;
          next = array[i];
          break;
        }
        out += "]";
      } else if (i < top.keys.length) {
        const name = top.keys[i] as string;
        out += (i > 0 ? "," : "") + JSON.stringify(name) + ":";
        top.next = i + 1;
        next = (top.value as Record<string, unknown>)[name];
        break;
      } else {
        out += "}";
      }
      stack.pop();
      open.delete(top.value);
    }
  }
}

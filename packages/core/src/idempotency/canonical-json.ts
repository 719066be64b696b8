/** An array or object being written, and the position of the next member to write. */
interface Frame {
  /** The value met (for cycles); `items` for a Map or a Set. */
  readonly value: object;
  /** The array, or the entries of a Map or the members of a Set, when `keys` is null. */
  readonly items: readonly unknown[];
  /** Sorted member names of an object; null for a list. */
  readonly keys: string[] | null;
  /** What closes it: `]`, `}` or `)`. */
  readonly close: string;
  next: number;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The constructor name that tags a value JSON.parse cannot produce (`Uint8Array`, a class). */
function tagOf(value: object): string {
  const ctor: unknown = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  const name = typeof ctor === "function" ? ctor.name : "";
  return IDENTIFIER.test(name) ? name : "Object";
}

/** True for what JSON.parse produces: an object whose prototype is `Object.prototype` (of any realm) or null. */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && tagOf(value) === "Object";
}

function bytesOf(view: ArrayBufferView | ArrayBufferLike): string {
  const bytes = ArrayBuffer.isView(view) ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : new Uint8Array(view);
  return bytes.join(",");
}

/**
 * The token of an object JSON.parse cannot produce and that has no members to walk, or null: a
 * typed array or buffer as its bytes, a Date as its ISO time, a boxed primitive or a RegExp as
 * its value, each tagged with its constructor (`Uint8Array(1,2)`, `Date("2020-01-01T00:00:00.000Z")`).
 */
function taggedScalar(value: object): string | null {
  const tag = tagOf(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) {
    return `${tag}(${bytesOf(value as ArrayBufferView)})`;
  }
  const kind = Object.prototype.toString.call(value);
  if (kind === "[object Date]") {
    const time = (value as Date).getTime();
    return `${tag}(${Number.isNaN(time) ? "NaN" : JSON.stringify((value as Date).toISOString())})`;
  }
  if (kind === "[object RegExp]") return `${tag}(${JSON.stringify(String(value))})`;
  if (kind === "[object Number]" || kind === "[object String]" || kind === "[object Boolean]" || kind === "[object BigInt]") {
    return `${tag}(${scalar((value as { valueOf(): unknown }).valueOf())})`;
  }
  return null;
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
 * symbol or a cycle throws a `TypeError`: they have no JSON form. A value JSON.parse cannot
 * produce (from another parser's `parsedBody`) gets a form tagged with its constructor, never
 * the form of a plain object: `Uint8Array(1,2)`, `Date("...")`, `Map([k,v],...)`, `Set(...)`,
 * `Point{"x":1}` for a class instance.
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
      const array = Array.isArray(next);
      const plain = !array && isPlainObject(next);
      const tagged = array || plain ? null : taggedScalar(next);
      if (tagged !== null) {
        out += tagged;
      } else {
        open.add(next);
        if (array) {
          out += "[";
          stack.push({ value: next, items: next as unknown[], keys: null, close: "]", next: 0 });
        } else if (plain) {
          out += "{";
          stack.push({ value: next, items: [], keys: Object.keys(next).sort(), close: "}", next: 0 });
        } else if (next instanceof Map || next instanceof Set) {
          // Entries in insertion order: a Map is not reordered as an object's members are.
          out += `${tagOf(next)}(`;
          const items = next instanceof Map ? [...next.entries()] : [...next.values()];
          stack.push({ value: next, items, keys: null, close: ")", next: 0 });
        } else {
          out += `${tagOf(next)}{`; // a class instance: its own enumerable members
          stack.push({ value: next, items: [], keys: Object.keys(next).sort(), close: "}", next: 0 });
        }
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
        const array = top.items;
        if (i < array.length) {
          if (i > 0) out += ",";
          top.next = i + 1;
          next = array[i];
          break;
        }
        out += top.close;
      } else if (i < top.keys.length) {
        const name = top.keys[i] as string;
        out += (i > 0 ? "," : "") + JSON.stringify(name) + ":";
        top.next = i + 1;
        next = (top.value as Record<string, unknown>)[name];
        break;
      } else {
        out += top.close;
      }
      stack.pop();
      open.delete(top.value);
    }
  }
}

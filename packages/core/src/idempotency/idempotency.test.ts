import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogue, isPolicyError } from "../problems";
import { canonicalJson } from "./canonical-json";
import { requestFingerprint } from "./fingerprint";
import { parseIdempotencyKey } from "./key";
import { toStoredResponse } from "./replay";

describe("parseIdempotencyKey", () => {
  it("accepts a bare key and the RFC 8941 string form as the same key", () => {
    expect(parseIdempotencyKey(["create-tower-2026-04-08"])).toEqual({ key: "create-tower-2026-04-08" });
    expect(parseIdempotencyKey(['"create-tower-2026-04-08"'])).toEqual({ key: "create-tower-2026-04-08" });
    expect(parseIdempotencyKey(['"a\\"b\\\\c"'])).toEqual({ key: 'a"b\\c' });
  });

  it("accepts 1 and 255 characters, refuses 0 and 256", () => {
    expect(parseIdempotencyKey(["a"])).toEqual({ key: "a" });
    expect(parseIdempotencyKey(["k".repeat(255)])).toEqual({ key: "k".repeat(255) });
    expect(parseIdempotencyKey([`"${"k".repeat(255)}"`])).toEqual({ key: "k".repeat(255) });
    for (const bad of ["", '""', "k".repeat(256), `"${"k".repeat(256)}"`]) {
      const r = parseIdempotencyKey([bad]);
      expect(isPolicyError(r) && r.code).toBe("invalid_idempotency_key");
    }
  });

  it.each([["a b"], ["tab\there"], ["ünï"], ['"unterminated'], ['"a"b"'], ['"bad\\escape"'], ['"a" x'], ["\u0000"], ['"sp ace"']])(
    "refuses %j",
    (v) => {
      const r = parseIdempotencyKey([v]);
      expect(isPolicyError(r) && r.code).toBe("invalid_idempotency_key");
    },
  );

  it("refuses the header sent twice", () => {
    const r = parseIdempotencyKey(["a", "b"]);
    expect(isPolicyError(r) && r.code).toBe("invalid_idempotency_key");
  });

  it("round-trips every visible-ASCII key in both forms", () => {
    const vchar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ unit: vchar, minLength: 1, maxLength: 255 }), (key) => {
        const quoted = `"${key.replace(/[\\"]/g, (c) => "\\" + c)}"`;
        expect(parseIdempotencyKey([quoted])).toEqual({ key });
        if (!key.startsWith('"')) expect(parseIdempotencyKey([key])).toEqual({ key });
      }),
    );
  });

  it("never throws and always answers a key or invalid_idempotency_key under fuzzing", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.constant('"'.repeat(16 * 1024)), fc.constant("a".repeat(16 * 1024))), { maxLength: 3 }),
        (values) => {
          const r = parseIdempotencyKey(values);
          if (isPolicyError(r)) expect(r.code).toBe("invalid_idempotency_key");
          else {
            expect(r.key.length).toBeGreaterThan(0);
            expect(r.key.length).toBeLessThanOrEqual(255);
            expect(r.key).toMatch(/^[\x21-\x7e]+$/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

/** Deep equality with `Object.is` on scalars (so -0 is not 0) and key order ignored: "a handler could tell them apart". */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The same value with every object's members in another order (`order` picks the permutation). */
function reorder(v: unknown, order: number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, order));
  if (v === null || typeof v !== "object") return v;
  const entries = Object.entries(v);
  const rotated = entries.length ? [...entries.slice(order % entries.length), ...entries.slice(0, order % entries.length)] : entries;
  if (order % 2 === 1) rotated.reverse();
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, x] of rotated) out[k] = reorder(x, order);
  return out;
}

/** Values built from a few easily confused leaves and keys, so that random pairs are often equal or nearly so. */
const confusable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom<unknown>(null, 0, -0, 1, Infinity, -Infinity, Number.NaN, "", "null", "0", "-0", "Infinity", "\ud800", "\udc00", "\ufffd", "\\ud800", true, "true", undefined, 10n, 10),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "", "__proto__", "\ud800", "\ufffd", '"', "a,b"), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("canonicalJson", () => {
  it("sorts keys and drops white space", () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: "x", c: 2.5 }] })).toBe('{"a":[true,null,{"c":2.5,"d":"x"}],"b":1}');
    expect(canonicalJson(JSON.parse('{ "name" : "Tower",\n "project_type":"commercial" }'))).toBe(canonicalJson({ project_type: "commercial", name: "Tower" }));
  });

  it("gives values JSON.stringify would merge tokens of their own", () => {
    expect(canonicalJson(JSON.parse('{"description":1e400}'))).toBe('{"description":Infinity}');
    expect(canonicalJson({ d: -1e400 })).toBe('{"d":-Infinity}');
    expect(canonicalJson(JSON.parse("[-0, 0, -0.0]"))).toBe("[-0,0,-0]");
    expect(canonicalJson([Number.NaN, undefined, null, 10n, 10])).toBe("[NaN,undefined,null,10n,10]");
    expect(canonicalJson({ a: undefined })).toBe('{"a":undefined}');
    expect(canonicalJson(["\ud800", "\\ud800", "\ufffd", "\ud83d\ude00"])).toBe('["\\ud800","\\\\ud800","\ufffd","\ud83d\ude00"]');
    expect(canonicalJson(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });

  it("writes 100,000 levels of arrays and objects without overflowing the stack", () => {
    const depth = 100_000;
    expect(canonicalJson(JSON.parse("[".repeat(depth) + "]".repeat(depth)))).toBe("[".repeat(depth) + "]".repeat(depth));
    const objects = '{"a":'.repeat(depth) + '{"y":1,"x":[]}' + "}".repeat(depth);
    expect(canonicalJson(JSON.parse(objects))).toBe('{"a":'.repeat(depth) + '{"x":[],"y":1}' + "}".repeat(depth));
    const mixed = '[{"k":'.repeat(depth) + "null" + "}]".repeat(depth);
    expect(canonicalJson(JSON.parse(mixed))).toBe(mixed);
  });

  it("refuses what has no JSON form: a cycle, a function, a symbol", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
    expect(() => canonicalJson([() => 1])).toThrow(TypeError);
    expect(() => canonicalJson({ s: Symbol("x") })).toThrow(TypeError);
    const shared = { x: 1 }; // the same object twice is not a cycle
    expect(canonicalJson([shared, { y: shared }])).toBe('[{"x":1},{"y":{"x":1}}]');
  });

  it("is invariant under key order and white space, and parses back to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom(0, 1, 2, "\t", " \n "), (v, order, space) => {
        const c = canonicalJson(v);
        const text = JSON.stringify(reorder(v, order), null, space);
        expect(canonicalJson(JSON.parse(text))).toBe(canonicalJson(JSON.parse(JSON.stringify(v))));
        expect(canonicalJson(JSON.parse(c))).toBe(c);
        expect(sameValue(JSON.parse(c), v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives two values the same canonical form exactly when a handler could not tell them apart", () => {
    fc.assert(
      fc.property(confusable, confusable, (a, b) => {
        expect(canonicalJson(a) === canonicalJson(b)).toBe(sameValue(a, b));
      }),
      { numRuns: 20_000 },
    );
    const doubles = fc.double(); // -0, ±Infinity, NaN and subnormals included
    fc.assert(fc.property(doubles, doubles, (a, b) => {
      expect(canonicalJson({ a }) === canonicalJson({ a: b })).toBe(Object.is(a, b));
    }), { numRuns: 5000 });
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        expect(canonicalJson({ [a]: a }) === canonicalJson({ [b]: b })).toBe(a === b);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("requestFingerprint", () => {
  it("binds method, path and body; ignores key order and white space", () => {
    const a = requestFingerprint("POST", "/api/v2/vault/projects", { name: "T", project_type: "commercial" });
    expect(requestFingerprint("post", "/api/v2/vault/projects", { project_type: "commercial", name: "T" })).toBe(a);
    expect(requestFingerprint("PATCH", "/api/v2/vault/projects", { name: "T", project_type: "commercial" })).not.toBe(a);
    expect(requestFingerprint("POST", "/api/v2/vault/projects/1", { name: "T", project_type: "commercial" })).not.toBe(a);
    expect(requestFingerprint("POST", "/api/v2/vault/projects", { name: "U", project_type: "commercial" })).not.toBe(a);
    expect(requestFingerprint("POST", "/p", undefined, "{")).not.toBe(requestFingerprint("POST", "/p", undefined, "{{"));
    expect(requestFingerprint("POST", "/p", "{")).not.toBe(requestFingerprint("POST", "/p", undefined, '"{"'));
  });

  it("never gives 1e400 and null, -0 and 0, or a lone surrogate and U+FFFD one fingerprint", () => {
    const fp = (text: string) => requestFingerprint("POST", "/p", JSON.parse(text));
    expect(fp('{"description":1e400}')).not.toBe(fp('{"description":null}'));
    expect(fp('{"description":-1e400}')).not.toBe(fp('{"description":1e400}'));
    expect(fp('{"n":-0}')).not.toBe(fp('{"n":0}'));
    expect(fp('{"s":"\\ud800"}')).not.toBe(fp('{"s":"\\ufffd"}'));
    expect(fp('{"\\ud800":1}')).not.toBe(fp('{"\\udfff":1}'));
    expect(requestFingerprint("POST", "/p", undefined, "{\ud800")).not.toBe(requestFingerprint("POST", "/p", undefined, "{\ufffd"));
    expect(requestFingerprint("POST", "/p", undefined, "")).not.toBe(requestFingerprint("POST", "/p", undefined));
    expect(requestFingerprint("POST", "/p", null)).not.toBe(requestFingerprint("POST", "/p", undefined, "null"));
  });

  it("is the same for bodies that differ in key order and white space, and differs for different parsed values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom(0, 2, "\t"), (v, order, space) => {
        const text = JSON.stringify(v);
        const again = JSON.stringify(reorder(v, order), null, space);
        expect(requestFingerprint("POST", "/p", JSON.parse(again))).toBe(requestFingerprint("POST", "/p", JSON.parse(text)));
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(confusable, confusable, (a, b) => {
        fc.pre(!sameValue(a, b));
        expect(requestFingerprint("POST", "/p", a)).not.toBe(requestFingerprint("POST", "/p", b));
      }),
      { numRuns: 5000 },
    );
  });

  it("fingerprints a body of 100,000 levels", () => {
    const deep = JSON.parse('{"a":['.repeat(100_000) + "]}".repeat(100_000));
    expect(requestFingerprint("POST", "/p", deep)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("toStoredResponse", () => {
  it("keeps only the allow-listed headers", () => {
    const r = toStoredResponse(201, { "Content-Type": "application/json", Location: "/x", "Set-Cookie": ["a=b"], RateLimit: "x", ETag: '"1"' }, "{}");
    expect(r).toEqual({ status: 201, headers: { "content-type": "application/json", location: "/x", etag: '"1"' }, body: "{}" });
    expect(catalogue.idempotency_key_in_use.status).toBe(409);
  });
});

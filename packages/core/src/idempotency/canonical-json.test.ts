import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json";

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe("canonicalJson of values JSON.parse cannot produce", () => {
  it("tags typed arrays, buffers, dates, maps, sets, boxed values and class instances by constructor and contents", () => {
    expect(canonicalJson(new Uint8Array([1, 2]))).toBe("Uint8Array(1,2)");
    expect(canonicalJson(new Uint8Array([1, 2]))).not.toBe(canonicalJson({ 0: 1, 1: 2 }));
    expect(canonicalJson(new Uint16Array([258]))).toBe("Uint16Array(2,1)");
    expect(canonicalJson(new Uint8Array([9, 1, 2, 9]).subarray(1, 3))).toBe("Uint8Array(1,2)");
    expect(canonicalJson(new Date(0))).toBe('Date("1970-01-01T00:00:00.000Z")');
    expect(canonicalJson(new Date(Number.NaN))).toBe("Date(NaN)");
    expect(canonicalJson(new Map([["a", { b: 1 }]]))).toBe('Map(["a",{"b":1}])');
    expect(canonicalJson(new Set([1, "1"]))).toBe('Set(1,"1")');
    expect(canonicalJson(new Point(1, 2))).toBe('Point{"x":1,"y":2}');
    expect(canonicalJson(Object.create(null) as object)).toBe("{}");
    expect(canonicalJson(new Number(1))).not.toBe(canonicalJson(new Number(2)));
    expect(canonicalJson(/a/g)).toBe('RegExp("/a/g")');
    const m = new Map<string, unknown>();
    m.set("self", m);
    expect(() => canonicalJson(m)).toThrow(TypeError);
  });

  it("never gives a value that is not JSON the form of a JSON value, nor two different such values one form", () => {
    const exotic = fc.oneof(
      fc.uint8Array({ maxLength: 8 }).map((b) => ({ label: `u8:${b.join(",")}`, value: b as unknown })),
      fc.date().map((d) => ({ label: `date:${Number.isNaN(d.getTime()) ? "NaN" : d.toISOString()}`, value: d as unknown })),
      fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 4 }).map((e) => ({ label: `map:${JSON.stringify(e)}`, value: new Map(e) as unknown })),
      fc.array(fc.integer(), { maxLength: 4 }).map((e) => ({ label: `set:${JSON.stringify([...new Set(e)])}`, value: new Set(e) as unknown })),
    );
    fc.assert(
      fc.property(exotic, exotic, fc.jsonValue(), (a, b, json) => {
        const ca = canonicalJson({ v: a.value });
        expect(ca).not.toBe(canonicalJson({ v: json }));
        if (a.label !== b.label) expect(ca).not.toBe(canonicalJson({ v: b.value }));
        else expect(ca).toBe(canonicalJson({ v: b.value }));
      }),
    );
  });
});

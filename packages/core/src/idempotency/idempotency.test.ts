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

describe("canonicalJson", () => {
  it("sorts keys and drops white space", () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: "x", c: 2.5 }] })).toBe('{"a":[true,null,{"c":2.5,"d":"x"}],"b":1}');
    expect(canonicalJson(JSON.parse('{ "name" : "Tower",\n "project_type":"commercial" }'))).toBe(canonicalJson({ project_type: "commercial", name: "Tower" }));
  });

  it("is invariant under key order and parses back to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        const reordered = JSON.parse(JSON.stringify(v), (_k, val) =>
          val && typeof val === "object" && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).reverse()) : val,
        );
        expect(canonicalJson(reordered)).toBe(c);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
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
});

describe("toStoredResponse", () => {
  it("keeps only the allow-listed headers", () => {
    const r = toStoredResponse(201, { "Content-Type": "application/json", Location: "/x", "Set-Cookie": ["a=b"], RateLimit: "x", ETag: '"1"' }, "{}");
    expect(r).toEqual({ status: 201, headers: { "content-type": "application/json", location: "/x", etag: '"1"' }, body: "{}" });
    expect(catalogue.idempotency_key_in_use.status).toBe(409);
  });
});

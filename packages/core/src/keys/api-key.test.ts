import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BASE62_ALPHABET, encodeBase62 } from "./base62";
import { crc32Ascii } from "./crc32";
import { API_KEY_LENGTH, apiKeyChecksum, apiKeyPrefix, generateApiKey, parseApiKey } from "./api-key";
import vectors from "./key-vectors.json";

describe("API key test vectors (contract section 1)", () => {
  it("keeps the repository copy identical to the shared spec's", () => {
    const shared = join(__dirname, "../../../../../shared/spec/key-vectors.json");
    if (!existsSync(shared)) return; // a clone without shared/ beside it has only the copy
    expect(JSON.parse(readFileSync(shared, "utf8"))).toEqual(vectors);
  });

  it.each(vectors.valid)("accepts $key", (v) => {
    const r = parseApiKey(v.key);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.key.checksum).toBe(v.checksum);
    expect(r.key.prefix).toBe(v.prefix);
    expect(crc32Ascii(v.key.slice(0, 40))).toBe(v.crc32);
    expect(encodeBase62(v.crc32, 6)).toBe(v.checksum);
  });

  it.each(vectors.invalid)("rejects $key ($why)", (v) => {
    expect(parseApiKey(v.key).ok).toBe(false);
  });
});

describe("parseApiKey", () => {
  it("names why a key is refused", () => {
    expect(parseApiKey("ak_live_short")).toEqual({ ok: false, reason: "length" });
    expect(parseApiKey("ak_prod_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m")).toEqual({ ok: false, reason: "environment" });
    expect(parseApiKey("xk_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m")).toEqual({ ok: false, reason: "prefix" });
    expect(parseApiKey("ak_live_AB-K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m")).toEqual({ ok: false, reason: "alphabet" });
    expect(parseApiKey("ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo40")).toEqual({ ok: false, reason: "checksum" });
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ minLength: 46, maxLength: 46 })), (s) => {
        const r = parseApiKey(s);
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("generateApiKey", () => {
  const envArb = fc.constantFrom("live" as const, "test" as const);

  it("produces keys that parse, with the contract's shape and the zlib CRC-32", () => {
    fc.assert(
      fc.property(envArb, fc.uint8Array({ minLength: 48, maxLength: 48 }), (env, seed) => {
        let calls = 0;
        const key = generateApiKey(env, (n) => (calls++ === 0 ? seed.slice(0, n) : new Uint8Array(n).fill(7)));
        expect(key).toMatch(new RegExp(`^ak_${env}_[0-9A-Za-z]{38}$`));
        expect(key).toHaveLength(API_KEY_LENGTH);
        const r = parseApiKey(key);
        expect(r.ok).toBe(true);
        expect(crc32Ascii(key.slice(0, 40))).toBe(zlibCrc32(key.slice(0, 40)));
        expect(apiKeyPrefix(key)).toBe(key.slice(0, 12));
      }),
      { numRuns: 500 },
    );
  });

  it("rejects any single-character change without a store call", () => {
    fc.assert(
      fc.property(envArb, fc.nat(45), fc.nat(BASE62_ALPHABET.length + 3), (env, pos, pick) => {
        const key = generateApiKey(env);
        const replacement = (BASE62_ALPHABET + "_-.!")[pick] as string;
        fc.pre(replacement !== key[pos]);
        const changed = key.slice(0, pos) + replacement + key.slice(pos + 1);
        expect(parseApiKey(changed).ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it("draws every base62 character with no modulo bias", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      for (const c of generateApiKey("test").slice(8, 40)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(62);
    // 64,000 draws over 62 symbols: each near 1032; a biased sampler would skew 0-7 by ~4%.
    for (const n of counts.values()) expect(n).toBeGreaterThan(850);
  });

  it("refuses an unknown environment", () => {
    expect(() => generateApiKey("prod" as never)).toThrow(/environment/);
  });

  it("computes the checksum of the head as the vectors do", () => {
    expect(apiKeyChecksum("ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ")).toBe("3tdo4m");
  });
});

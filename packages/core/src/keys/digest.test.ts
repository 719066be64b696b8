import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyHasher } from "./digest";

const KEY = "ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m";

describe("createKeyHasher", () => {
  it("digests as <pepperId>:base64url(HMAC-SHA-256(pepper, key))", () => {
    const h = createKeyHasher({ peppers: [{ id: "p1", secret: "0123456789abcdef0123" }] });
    const expected = createHmac("sha256", "0123456789abcdef0123").update(KEY).digest("base64url");
    expect(h.digest(KEY)).toBe(`p1:${expected}`);
    expect(h.digest(KEY)).not.toContain(KEY.slice(8));
  });

  it("tries every pepper, the current one first, for rotation", () => {
    const h = createKeyHasher({ peppers: [{ id: "new", secret: "n".repeat(32) }, { id: "old", secret: "o".repeat(32) }] });
    const [a, b] = h.candidates(KEY);
    expect(a).toBe(h.digest(KEY));
    expect(a?.startsWith("new:")).toBe(true);
    expect(b?.startsWith("old:")).toBe(true);
    expect(a?.slice(4)).not.toBe(b?.slice(4));
  });

  it("validates its options, naming them", () => {
    expect(() => createKeyHasher({ peppers: [] })).toThrow(/`peppers`/);
    expect(() => createKeyHasher({ peppers: [{ id: "bad id", secret: "x".repeat(32) }] })).toThrow(/peppers\[\]\.id/);
    expect(() => createKeyHasher({ peppers: [{ id: "p", secret: "short" }] })).toThrow(/peppers\[\]\.secret/);
    expect(() =>
      createKeyHasher({ peppers: [{ id: "p", secret: "x".repeat(32) }, { id: "p", secret: "y".repeat(32) }] }),
    ).toThrow(/listed twice/);
  });
});

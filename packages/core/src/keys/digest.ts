import { createHmac } from "node:crypto";

/** One HMAC pepper: an id stored beside every digest, and the secret. */
export interface Pepper {
  readonly id: string;
  readonly secret: string | Uint8Array;
}

/** Options of `createKeyHasher`. */
export interface KeyHasherOptions {
  /**
   * The peppers, the current one first. Older ones stay listed while keys digested with them
   * still exist: lookups try each in turn; new keys use the first.
   */
  readonly peppers: readonly Pepper[];
}

/**
 * Keyed digests of raw keys. A digest is `<pepperId>:<base64url HMAC-SHA-256>`, so the pepper
 * can be rotated without ambiguity. The raw key is never stored.
 */
export interface KeyHasher {
  /** The digest under the current pepper: what a new key record stores. */
  digest(rawKey: string): string;
  /** The digest under every listed pepper, current first: what a lookup tries. */
  candidates(rawKey: string): readonly string[];
}

const PEPPER_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Digests raw keys for storage and lookup: HMAC-SHA-256 with a versioned pepper; older peppers stay as lookup candidates while keys are rotated.
 * @example
 * const hasher = createKeyHasher({ peppers: [{ id: "p2", secret: process.env.PEPPER! }] });
 * hasher.digest(rawKey) // "p2:…"
 */
export function createKeyHasher(options: KeyHasherOptions): KeyHasher {
  const peppers = options?.peppers;
  if (!Array.isArray(peppers) || peppers.length === 0) {
    throw new TypeError("createKeyHasher: `peppers` must list at least one pepper");
  }
  const ids = new Set<string>();
  for (const p of peppers) {
    if (!p || typeof p.id !== "string" || !PEPPER_ID.test(p.id)) {
      throw new TypeError("createKeyHasher: `peppers[].id` must be 1-32 characters of [A-Za-z0-9_-]");
    }
    if (ids.has(p.id)) throw new TypeError(`createKeyHasher: \`peppers[].id\` "${p.id}" is listed twice`);
    ids.add(p.id);
    const len = typeof p.secret === "string" ? Buffer.byteLength(p.secret) : p.secret?.byteLength;
    if (!len || len < 16) throw new TypeError(`createKeyHasher: \`peppers[].secret\` of "${p.id}" must be at least 16 bytes`);
  }
  const one = (p: Pepper, raw: string) => `${p.id}:${createHmac("sha256", p.secret).update(raw).digest("base64url")}`;
  const first = peppers[0] as Pepper;
  return {
    digest: (raw) => one(first, raw),
    candidates: (raw) => peppers.map((p) => one(p, raw)),
  };
}

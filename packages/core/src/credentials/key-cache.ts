import { createHash } from "node:crypto";
import * as crypto from "node:crypto";
import { systemClock, type Clock } from "../clock";
import type { KeyHasher } from "../keys";
import type { ApiKeyRecord, KeyStore } from "./key-store";

/** Options of `createVerifiedKeyCache`. */
export interface VerifiedKeyCacheOptions {
  readonly store: KeyStore;
  readonly hasher: KeyHasher;
  /**
   * How long a found key is trusted without asking the store again. This bounds how late a
   * revocation, expiry or roll made by another instance is seen when no invalidation arrives.
   * @default 1000
   */
  readonly ttlMs?: number;
  /** How long an unknown key is remembered as unknown. @default 1000 */
  readonly negativeTtlMs?: number;
  /** At most this many entries; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A bounded TTL cache of verified keys in front of a `KeyStore`. */
export interface VerifiedKeyCache {
  /** The record of a (well-formed) raw key, or null when the store has none. */
  lookup(rawKey: string): Promise<ApiKeyRecord | null>;
  /** A fresh cached answer without waiting (undefined on a miss): the hot path's first try. */
  peek(rawKey: string): ApiKeyRecord | null | undefined;
  /** Forgets the entry of this digest (call on revoke, roll, update, from any instance). */
  invalidate(digest: string): void;
  /** Forgets everything. */
  clear(): void;
  /** Entries held now. */
  readonly size: number;
}

interface Entry {
  readonly record: ApiKeyRecord | null;
  readonly until: number;
}

// The cache is keyed by an unkeyed SHA-256 of the raw key, never the key itself: the key has
// ~190 random bits, so the hash cannot be reversed, and it costs a fraction of the HMAC that
// the store lookup needs (run only on a miss).
const sha256 =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (s: string) => (crypto as unknown as { hash(a: string, d: string, e: string): string }).hash("sha256", s, "base64url")
    : (s: string) => createHash("sha256").update(s).digest("base64url");

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`createVerifiedKeyCache: \`${name}\` must be a finite number >= 0`);
  }
  return v;
}

/**
 * The verified-key cache in front of a `KeyStore`: raw keys are held only as their SHA-256, verified records for `ttlMs`, misses for `negativeTtlMs`; `invalidate(digest)` drops a changed key at once.
 * @example
 * const cache = createVerifiedKeyCache({ store, hasher, ttlMs: 1000 });
 * const record = await cache.lookup(rawKey);
 */
export function createVerifiedKeyCache(options: VerifiedKeyCacheOptions): VerifiedKeyCache {
  if (!options?.store || typeof options.store.findByDigest !== "function") {
    throw new TypeError("createVerifiedKeyCache: `store` must be a KeyStore");
  }
  if (!options.hasher || typeof options.hasher.candidates !== "function") {
    throw new TypeError("createVerifiedKeyCache: `hasher` must be a KeyHasher");
  }
  const { store, hasher } = options;
  const ttlMs = positive("ttlMs", options.ttlMs, 1000);
  const negativeTtlMs = positive("negativeTtlMs", options.negativeTtlMs, 1000);
  const maxEntries = Math.max(1, Math.floor(positive("maxEntries", options.maxEntries, 10_000)));
  const clock = options.clock ?? systemClock;
  const entries = new Map<string, Entry>();
  const byDigest = new Map<string, string>();
  const inflight = new Map<string, Promise<ApiKeyRecord | null>>();
  let generation = 0;

  function remember(id: string, record: ApiKeyRecord | null): void {
    const old = entries.get(id);
    if (old?.record) byDigest.delete(old.record.digest);
    entries.delete(id);
    while (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value as string;
      const e = entries.get(oldest);
      if (e?.record) byDigest.delete(e.record.digest);
      entries.delete(oldest);
    }
    entries.set(id, { record, until: clock.now() + (record ? ttlMs : negativeTtlMs) });
    if (record) byDigest.set(record.digest, id);
  }

  async function load(rawKey: string, id: string): Promise<ApiKeyRecord | null> {
    const gen = generation;
    try {
      let found: ApiKeyRecord | null = null;
      for (const digest of hasher.candidates(rawKey)) {
        found = await store.findByDigest(digest);
        if (found) break;
      }
      // An invalidation that arrived while we were loading wins: do not cache what may be stale.
      if (gen === generation) remember(id, found);
      return found;
    } finally {
      inflight.delete(id);
    }
  }

  return {
    peek(rawKey) {
      const hit = entries.get(sha256(rawKey));
      return hit && hit.until > clock.now() ? hit.record : undefined;
    },
    lookup(rawKey) {
      const id = sha256(rawKey);
      const hit = entries.get(id);
      if (hit && hit.until > clock.now()) return Promise.resolve(hit.record);
      const pending = inflight.get(id);
      if (pending) return pending;
      const p = load(rawKey, id);
      inflight.set(id, p);
      return p;
    },
    invalidate(digest) {
      generation++;
      const id = byDigest.get(digest);
      if (id !== undefined) {
        byDigest.delete(digest);
        entries.delete(id);
      }
      // A key never seen here may be cached as unknown under another id: negative entries are
      // short-lived, and a newly created key has a fresh digest, so nothing else to drop.
    },
    clear() {
      generation++;
      entries.clear();
      byDigest.clear();
    },
    get size() {
      return entries.size;
    },
  };
}

import type { Environment } from "../keys";
import type { RateLimitTier } from "./principal";

/**
 * A stored API key. Only the keyed digest of the raw key is kept (`digest`,
 * `<pepperId>:<base64url HMAC-SHA-256>`); timestamps are ISO 8601 strings.
 */
export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** The 12-character display prefix. Not unique. */
  readonly prefix: string;
  readonly digest: string;
  readonly user_id: string;
  readonly tenant_id: string;
  readonly email: string | null;
  /** Must agree with the key's prefix. */
  readonly environment: Environment;
  readonly rate_limit_tier: RateLimitTier;
  /** Sorted, unique. */
  readonly scopes: readonly string[];
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly last_used_at?: string | null;
}

/**
 * Where key records live. Every lookup is exact: by digest (the only way a request finds its
 * key) or by id within a tenant. Implementations: `MemoryKeyStore`, `@alloovium/redis`.
 */
export interface KeyStore {
  /** The record whose digest equals `digest`, or null. Never matches on a prefix. */
  findByDigest(digest: string): Promise<ApiKeyRecord | null>;
  /** Inserts or replaces the record with this id (an update may change any field but id and tenant). */
  put(record: ApiKeyRecord): Promise<void>;
  /** The record with this id in this tenant; null when absent or another tenant's. */
  get(tenantId: string, id: string): Promise<ApiKeyRecord | null>;
  /** The tenant's records, newest first (created_at, then id, descending). */
  list(tenantId: string): Promise<ApiKeyRecord[]>;
  /**
   * Sets the key's `last_used_at` to `at` (ISO 8601) unless it already holds a later time, and
   * changes nothing else: a touch can never undo a concurrent revoke or update, and a later
   * `put` of a record read before the touch keeps the later time. Unknown ids are ignored.
   * Optional: without it the policy keeps no `last_used_at` (it calls it at most once a minute
   * per key and process, and never waits for it).
   */
  touch?(tenantId: string, id: string, at: string): Promise<void>;
  /**
   * Changes some fields of one record atomically, against the record as it is in the store at
   * that moment (never a copy read earlier), so that concurrent changes all hold: a revoke is
   * never undone by a rename, and the first revocation stands. Answers null when the tenant has
   * no such key, `{ applied: false }` when `ifUnchanged` no longer holds (nothing written), else
   * the new record. The digest, id and tenant never change. Required by `createKeyManager`.
   */
  patch?(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null>;
}

/** A field-level change of a key record (`KeyStore.patch`). */
export interface KeyPatch {
  readonly name?: string;
  /** Sorted, unique. */
  readonly scopes?: readonly string[];
  /** Revokes the key at this time (ISO 8601), unless it is revoked already: the first revocation stands. */
  readonly revokedAt?: string;
  /** Ends the key at this time (ISO 8601) unless it ends earlier: expiry only ever moves earlier. */
  readonly expiresBy?: string;
  /** Applies the patch only while the key's `expires_at` and `revoked_at` are still these (a roll's guard). */
  readonly ifUnchanged?: { readonly expires_at: string | null; readonly revoked_at: string | null };
}

/** What `KeyStore.patch` answers for a key that exists. */
export interface KeyPatchResult {
  readonly applied: boolean;
  /** The record after the patch (as it is, when not applied). */
  readonly record: ApiKeyRecord;
}

/** The record after `patch` (pure; the stores share it). `applied` is false when `ifUnchanged` fails. */
export function applyKeyPatch(record: ApiKeyRecord, patch: KeyPatch): KeyPatchResult {
  const guard = patch.ifUnchanged;
  if (guard && (guard.expires_at !== record.expires_at || guard.revoked_at !== record.revoked_at)) return { applied: false, record };
  const next: { -readonly [K in keyof ApiKeyRecord]: ApiKeyRecord[K] } = { ...record };
  if (patch.name !== undefined) next.name = patch.name;
  if (patch.scopes !== undefined) next.scopes = [...patch.scopes];
  if (patch.revokedAt !== undefined && record.revoked_at === null) next.revoked_at = patch.revokedAt;
  if (patch.expiresBy !== undefined && (record.expires_at === null || Date.parse(patch.expiresBy) < Date.parse(record.expires_at))) {
    next.expires_at = patch.expiresBy;
  }
  return { applied: true, record: next };
}

/** The later of two optional ISO 8601 times (null when neither). */
export function laterTime(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/** Newest first: created_at descending, then id descending. */
export function compareNewestFirst(a: { created_at: string; id: string }, b: { created_at: string; id: string }): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A process-local `KeyStore` for tests, development and single-instance deployments. */
export class MemoryKeyStore implements KeyStore {
  readonly #byId = new Map<string, ApiKeyRecord>();
  readonly #byDigest = new Map<string, ApiKeyRecord>();

  async findByDigest(digest: string): Promise<ApiKeyRecord | null> {
    return this.#byDigest.get(digest) ?? null;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    const old = this.#byId.get(record.id);
    if (old && old.tenant_id !== record.tenant_id) throw new Error("MemoryKeyStore.put: a key cannot move to another tenant");
    if (old) this.#byDigest.delete(old.digest);
    const lastUsed = laterTime(old?.last_used_at, record.last_used_at);
    const copy = Object.freeze({ ...record, scopes: Object.freeze([...record.scopes]), ...(lastUsed === null ? {} : { last_used_at: lastUsed }) });
    this.#byId.set(record.id, copy);
    this.#byDigest.set(record.digest, copy);
  }

  async get(tenantId: string, id: string): Promise<ApiKeyRecord | null> {
    const r = this.#byId.get(id);
    return r && r.tenant_id === tenantId ? r : null;
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    return [...this.#byId.values()].filter((r) => r.tenant_id === tenantId).sort(compareNewestFirst);
  }

  async patch(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null> {
    const r = this.#byId.get(id);
    if (!r || r.tenant_id !== tenantId) return null;
    const result = applyKeyPatch(r, patch);
    if (!result.applied) return result;
    const copy = Object.freeze({ ...result.record, scopes: Object.freeze([...result.record.scopes]) });
    this.#byId.set(id, copy);
    this.#byDigest.set(r.digest, copy);
    return { applied: true, record: copy };
  }

  async touch(tenantId: string, id: string, at: string): Promise<void> {
    const r = this.#byId.get(id);
    if (!r || r.tenant_id !== tenantId || laterTime(r.last_used_at, at) === r.last_used_at) return;
    const copy = Object.freeze({ ...r, last_used_at: at });
    this.#byId.set(id, copy);
    this.#byDigest.set(r.digest, copy);
  }
}

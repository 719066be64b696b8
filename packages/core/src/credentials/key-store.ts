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
  /**
   * The id of the key that replaced this one in a roll; null or absent until it is rolled. Set
   * once, atomically with the key's new end (`KeyPatch.successorId`): a key has one successor.
   */
  readonly successor_id?: string | null;
  /**
   * The id of the key this one replaced in a roll; null or absent for a created key. Rolling
   * this key ends that predecessor at once (its grace period stops), so a chain of rolls keeps
   * at most two active keys.
   */
  readonly predecessor_id?: string | null;
}

/** A position in a newest-first list (`created_at` then `id`, descending): the last record of the previous page. */
export interface KeyListPosition {
  readonly created_at: string;
  readonly id: string;
}

/** Options of `KeyStore.list`. */
export interface KeyListOptions {
  /** At most this many records (an integer >= 1). @default every record */
  readonly limit?: number;
  /** Only the records after this one in newest-first order (created_at, then id, descending). */
  readonly after?: KeyListPosition | null;
}

/** Options of `KeyStore.insert`. */
export interface KeyInsertOptions {
  /**
   * The tenant's active-key cap, decided in the same atomic step as the insert: refused
   * (`limit_reached`, nothing written) when the tenant already holds `max` active keys, that is
   * keys not revoked whose `expires_at` is null or later than `nowMs` (milliseconds since the
   * epoch, the caller's clock, as for a key's status). Without it nothing is counted.
   */
  readonly activeLimit?: { readonly max: number; readonly nowMs: number };
}

/**
 * What `KeyStore.insert` answers: `exists` when a record with this id (in any tenant) or this
 * digest is already stored (nothing written: an insert never replaces), `limit_reached` when the
 * tenant is at `activeLimit.max`.
 */
export type KeyInsertOutcome = "inserted" | "exists" | "limit_reached";

/**
 * Where key records live. Every lookup is exact: by digest (the only way a request finds its
 * key) or by id within a tenant. Implementations: `MemoryKeyStore`, `@alloovium/redis`.
 */
export interface KeyStore {
  /** The record whose digest equals `digest`, or null. Never matches on a prefix. */
  findByDigest(digest: string): Promise<ApiKeyRecord | null>;
  /**
   * Inserts or replaces the record with this id (an update may change any field but id and
   * tenant). For imports that mean to overwrite; seeds and new keys use `insert`.
   */
  put(record: ApiKeyRecord): Promise<void>;
  /**
   * Stores a new record, never replacing one: atomically, a record whose id or digest is already
   * stored is left as it is (`exists`), so a seed loaded again never undoes a revocation, a roll
   * or a scope change, and concurrent inserts of one record store it once. With `activeLimit`
   * the tenant's active-key cap is decided in the same step, so concurrent inserts (from any
   * number of processes) never exceed it. Required by `createKeyManager`.
   */
  insert?(record: ApiKeyRecord, options?: KeyInsertOptions): Promise<KeyInsertOutcome>;
  /** The record with this id in this tenant; null when absent or another tenant's. */
  get(tenantId: string, id: string): Promise<ApiKeyRecord | null>;
  /**
   * The tenant's records, newest first (created_at, then id, descending): every one, or at most
   * `limit` after the position `after`. A page is read from an ordered index inside the store, so
   * its cost follows `limit`, not the tenant's key count; records created while a client pages
   * are newer than its position and never shift later pages.
   */
  list(tenantId: string, options?: KeyListOptions): Promise<ApiKeyRecord[]>;
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
   * no such key; `{ applied: false }` with the record as it is when the patch changes nothing
   * (a second revocation, the same name) or a condition fails (`ifUnchanged`, `ifScopesWithin`, a
   * successor already recorded): nothing written; else `{ applied: true }` and the new record. The digest, id and
   * tenant never change. Required by `createKeyManager`.
   */
  patch?(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null>;
  /**
   * Deletes a record that was never handed out, atomically and only while it still carries
   * `digest`, was never used (no `last_used_at`), was never rolled (no successor) and is not
   * revoked: a roll that lost its race removes the successor it minted. Answers whether it
   * deleted it. Optional: without it the manager revokes such a record instead.
   */
  removeUnused?(tenantId: string, id: string, digest: string): Promise<boolean>;
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
  /**
   * Records the key that replaced this one (a roll). The whole patch applies only while the key
   * has no successor, so that however many rolls race, one wins.
   */
  readonly successorId?: string;
  /**
   * Applies the patch only while the key's `expires_at` and `revoked_at` (and, when given, its
   * `name` and sorted `scopes`) are still these: a roll's guard, so that a successor always
   * carries the name and scopes the key had when the roll took effect.
   */
  readonly ifUnchanged?: {
    readonly expires_at: string | null;
    readonly revoked_at: string | null;
    readonly name?: string;
    readonly scopes?: readonly string[];
  };
  /**
   * Applies the patch only while every scope the key holds is one of these (the caller's), so
   * that a key widened by a concurrent change is never stripped, rolled or revoked by a caller
   * lacking its new scopes.
   */
  readonly ifScopesWithin?: readonly string[];
}

/** What `KeyStore.patch` answers for a key that exists. */
export interface KeyPatchResult {
  /** True only when the record changed. */
  readonly applied: boolean;
  /** The record after the patch (as it is, when not applied). */
  readonly record: ApiKeyRecord;
}

/**
 * The record after `patch` (pure; the stores share it, and the Redis script mirrors it).
 * `applied` is false when a condition fails (`ifUnchanged`, `ifScopesWithin`, a successor already recorded) or
 * when the patch would change nothing.
 * @example const { record, applied } = applyKeyPatch(current, { revoked_at: now, ifUnchanged: { name, scopes } });
 */
export function applyKeyPatch(record: ApiKeyRecord, patch: KeyPatch): KeyPatchResult {
  const guard = patch.ifUnchanged;
  if (
    guard &&
    (guard.expires_at !== record.expires_at ||
      guard.revoked_at !== record.revoked_at ||
      (guard.name !== undefined && guard.name !== record.name) ||
      (guard.scopes !== undefined && !sameScopes(guard.scopes, record.scopes)))
  ) {
    return { applied: false, record };
  }
  if (patch.successorId !== undefined && (record.successor_id ?? null) !== null) return { applied: false, record };
  const within = patch.ifScopesWithin;
  if (within && record.scopes.some((s) => !within.includes(s))) return { applied: false, record };
  const next: { -readonly [K in keyof ApiKeyRecord]: ApiKeyRecord[K] } = { ...record };
  let changed = false;
  if (patch.name !== undefined && patch.name !== record.name) {
    next.name = patch.name;
    changed = true;
  }
  if (patch.scopes !== undefined && !sameScopes(patch.scopes, record.scopes)) {
    next.scopes = [...patch.scopes];
    changed = true;
  }
  if (patch.revokedAt !== undefined && record.revoked_at === null) {
    next.revoked_at = patch.revokedAt;
    changed = true;
  }
  if (patch.expiresBy !== undefined && (record.expires_at === null || Date.parse(patch.expiresBy) < Date.parse(record.expires_at))) {
    next.expires_at = patch.expiresBy;
    changed = true;
  }
  if (patch.successorId !== undefined) {
    next.successor_id = patch.successorId;
    changed = true;
  }
  return changed ? { applied: true, record: next } : { applied: false, record };
}

function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * Whether a key counts against its tenant's active-key cap at `nowMs`: not revoked, not expired.
 * @example isActiveKey(record, Date.now()) // not revoked, not expired
 */
export function isActiveKey(record: Pick<ApiKeyRecord, "revoked_at" | "expires_at">, nowMs: number): boolean {
  return record.revoked_at === null && (record.expires_at === null || !(Date.parse(record.expires_at) <= nowMs));
}

/**
 * Whether `KeyStore.removeUnused` may delete this record: that digest, never used, rolled or revoked.
 * @example if (isUnused(record, digest)) await store.removeUnused(tenantId, record.id);
 */
export function isUnused(record: ApiKeyRecord, digest: string): boolean {
  return record.digest === digest && !record.last_used_at && (record.successor_id ?? null) === null && record.revoked_at === null;
}

/**
 * The later of two optional ISO 8601 times (null when neither).
 * @example laterTime("2026-01-01T00:00:00.000Z", null) // "2026-01-01T00:00:00.000Z"
 */
export function laterTime(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

/**
 * Newest first: created_at descending, then id descending.
 * @example records.sort(compareNewestFirst) // created_at descending, then id
 */
export function compareNewestFirst(a: { created_at: string; id: string }, b: { created_at: string; id: string }): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * A process-local `KeyStore` for tests, development and single-instance deployments.
 * @example createPolicy({ environment: "live", keyHasher, stores: { keys: new MemoryKeyStore() } })
 */
export class MemoryKeyStore implements KeyStore {
  readonly #byId = new Map<string, ApiKeyRecord>();
  readonly #byDigest = new Map<string, ApiKeyRecord>();
  /** Per tenant, the positions of its records, newest first: `list` pages by binary search. */
  readonly #order = new Map<string, KeyListPosition[]>();

  async findByDigest(digest: string): Promise<ApiKeyRecord | null> {
    return this.#byDigest.get(digest) ?? null;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    const old = this.#byId.get(record.id);
    if (old && old.tenant_id !== record.tenant_id) throw new Error("MemoryKeyStore.put: a key cannot move to another tenant");
    if (old) {
      this.#byDigest.delete(old.digest);
      this.#unindex(old);
    }
    const lastUsed = laterTime(old?.last_used_at, record.last_used_at);
    this.#store({ ...record, ...(lastUsed === null ? {} : { last_used_at: lastUsed }) });
    this.#index(record);
  }

  async insert(record: ApiKeyRecord, options: KeyInsertOptions = {}): Promise<KeyInsertOutcome> {
    if (this.#byId.has(record.id) || this.#byDigest.has(record.digest)) return "exists";
    const limit = options.activeLimit;
    if (limit) {
      let active = 0;
      for (const p of this.#order.get(record.tenant_id) ?? []) {
        if (isActiveKey(this.#byId.get(p.id)!, limit.nowMs)) active++;
      }
      if (active >= limit.max) return "limit_reached";
    }
    this.#store(record);
    this.#index(record);
    return "inserted";
  }

  async get(tenantId: string, id: string): Promise<ApiKeyRecord | null> {
    const r = this.#byId.get(id);
    return r && r.tenant_id === tenantId ? r : null;
  }

  async list(tenantId: string, options: KeyListOptions = {}): Promise<ApiKeyRecord[]> {
    const order = this.#order.get(tenantId) ?? [];
    const after = options.after;
    const start = after ? firstAfter(order, after) : 0;
    const end = options.limit === undefined ? order.length : Math.min(order.length, start + options.limit);
    return order.slice(start, end).map((p) => this.#byId.get(p.id)!);
  }

  async patch(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null> {
    const r = this.#byId.get(id);
    if (!r || r.tenant_id !== tenantId) return null;
    const result = applyKeyPatch(r, patch);
    if (!result.applied) return result;
    return { applied: true, record: this.#store(result.record) };
  }

  async removeUnused(tenantId: string, id: string, digest: string): Promise<boolean> {
    const r = this.#byId.get(id);
    if (!r || r.tenant_id !== tenantId || !isUnused(r, digest)) return false;
    this.#byId.delete(id);
    this.#byDigest.delete(r.digest);
    this.#unindex(r);
    return true;
  }

  async touch(tenantId: string, id: string, at: string): Promise<void> {
    const r = this.#byId.get(id);
    if (!r || r.tenant_id !== tenantId || laterTime(r.last_used_at, at) === r.last_used_at) return;
    this.#store({ ...r, last_used_at: at });
  }

  /** Stores a frozen copy under its id and digest (the position index is kept by the caller). */
  #store(record: ApiKeyRecord): ApiKeyRecord {
    const copy = Object.freeze({ ...record, scopes: Object.freeze([...record.scopes]) });
    this.#byId.set(record.id, copy);
    this.#byDigest.set(record.digest, copy);
    return copy;
  }

  #index(record: ApiKeyRecord): void {
    let order = this.#order.get(record.tenant_id);
    if (!order) this.#order.set(record.tenant_id, (order = []));
    const position = { created_at: record.created_at, id: record.id };
    order.splice(firstAfter(order, position), 0, position);
  }

  #unindex(record: ApiKeyRecord): void {
    const order = this.#order.get(record.tenant_id);
    const i = order?.findIndex((p) => p.id === record.id) ?? -1;
    if (i >= 0) order!.splice(i, 1);
  }
}

/** The index of the first position that comes after `after` in newest-first order. */
function firstAfter(order: readonly KeyListPosition[], after: KeyListPosition): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNewestFirst(order[mid]!, after) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

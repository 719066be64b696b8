import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../clock";
import {
  isWellFormedText,
  type ApiKeyRecord,
  type KeyPatch,
  type KeyStore,
  type Principal,
  type RateLimitTier,
  type VerifiedKeyCache,
} from "../credentials";
import { apiKeyPrefix, generateApiKey, type Environment, type KeyHasher } from "../keys";
import { DEFAULT_LIMIT, encodeCursor, type Cursor, type Page } from "../pagination";
import { ProblemError, policyError, validationFailed, type FieldError, type PolicyError } from "../problems";
import { insufficientScope, isScope } from "../scopes";

/** A key's state as the Developer Console shows it. */
export type KeyStatus = "active" | "expired" | "revoked";

/** A key record as it goes on the wire: never the digest, never the raw key. */
export interface KeyView {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly environment: Environment;
  readonly rate_limit_tier: RateLimitTier;
  readonly scopes: readonly string[];
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly status: KeyStatus;
}

/** What `create` and `roll` answer: the new key's record, flat, plus the raw key, shown once. */
export interface CreatedKey extends KeyView {
  readonly key: string;
}

/** Longest grace period of a roll: 7 days. */
export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60;
/** Longest key name, in characters. */
export const MAX_KEY_NAME_LENGTH = 200;
/** Default cap of a tenant's active keys: per-key buckets cannot be multiplied past it by minting keys. */
export const DEFAULT_MAX_ACTIVE_KEYS = 100;

/**
 * What `createKeyManager` takes from a policy: its key store, hasher, environment and
 * verified-key cache. A `Policy` built with `stores` is one; so is any object of this shape.
 */
export interface KeyManagerPolicy {
  readonly stores: { readonly keys: KeyStore };
  readonly keyHasher: KeyHasher;
  readonly environment: Environment;
  readonly keyCache: VerifiedKeyCache;
}

/** Options of `createKeyManager` with either form. */
interface KeyManagerSettings {
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * The most active keys (neither revoked nor expired) a tenant may hold, so that per-key buckets
   * cannot be multiplied by minting keys: one more `create` is 409 `key_limit_reached`. Decided
   * by the store at insert time, atomically. A roll is never refused for it (the old key ends).
   * An integer >= 1.
   * @default 100
   */
  readonly maxActiveKeys?: number;
  /**
   * Told of every key-store call that failed (the store is down or timed out). The call then
   * throws a `ProblemError` 503 `service_unavailable` with `Retry-After`, never a bare error
   * (a 500). @default none
   */
  readonly onStoreError?: (error: unknown, operation: KeyStoreOperation) => void;
}

/** A manager beside a policy: its store, hasher and environment, and its cache invalidated. */
interface KeyManagerWithPolicy extends KeyManagerSettings {
  /**
   * The policy whose keys this manages: the manager uses its `stores.keys`, `keyHasher` and
   * `environment`, and drops the policy's cached verification of every key whose verification
   * changed (revoke, roll, update) at once. Other instances learn it from the key store's own
   * invalidation feed (the Redis store publishes it), or within the cache TTL (1 s).
   */
  readonly policy: KeyManagerPolicy;
  readonly keyStore?: never;
  readonly keyHasher?: never;
  readonly environment?: never;
  readonly invalidate?: never;
}

/** A manager in a process without a policy (an admin tool): the store and hasher given. */
interface KeyManagerWithStore extends KeyManagerSettings {
  readonly policy?: never;
  readonly keyStore: KeyStore;
  readonly keyHasher: KeyHasher;
  /**
   * Told the digest of every key whose verification changed (revoke, roll, update), so that every
   * instance drops its cached verification at once: a `VerifiedKeyCache.invalidate`, or a
   * publisher that reaches the other instances. Without it the policy's cache TTL (1 s) bounds it.
   * @default none
   */
  readonly invalidate?: (digest: string) => void;
  /**
   * The deployment's environment: a `test` deployment creates test keys only (a live key could not
   * be used there). Test keys themselves can create and manage test keys only, whatever this is.
   * @default "live"
   */
  readonly environment?: Environment;
}

/**
 * Options of `createKeyManager`: `policy` (beside a policy in the same process), or `keyStore`
 * and `keyHasher` with optional `environment` and `invalidate` (no policy); never both.
 */
export type KeyManagerOptions = KeyManagerWithPolicy | KeyManagerWithStore;

/** The key-store calls whose failures `onStoreError` is told of. */
export type KeyStoreOperation = "get" | "list" | "insert" | "patch";

/** A page request of `KeyManager.list`: newest first, `limit` records after the cursor's position. */
export interface KeyPageRequest {
  /** 1..100. @default 10 */
  readonly limit?: number;
  /** The position after which the page starts (a decoded `next_cursor`). */
  readonly cursor?: Cursor | null;
}

/** Key lifecycle over a `KeyStore`. Every call is scoped to the caller's tenant. */
export interface KeyManager {
  /**
   * A new key with the caller's tier; the caller must hold every scope it asks for, and the
   * tenant must hold fewer than `maxActiveKeys` active keys (409 `key_limit_reached`).
   */
  create(caller: Principal, input: Readonly<Record<string, unknown>>): Promise<CreatedKey | PolicyError>;
  /** One page of the tenant's keys, newest first, read page by page from the store. */
  list(caller: Principal, page?: KeyPageRequest): Promise<Page<KeyView>>;
  /** One key of the tenant, or 404 `not_found`. */
  get(caller: Principal, id: string): Promise<KeyView | PolicyError>;
  /**
   * Renames a key or changes its scopes. The caller must hold every scope the key has now and
   * every scope it would have (403 `insufficient_scope`): no escalation in either direction.
   */
  update(caller: Principal, id: string, input: Readonly<Record<string, unknown>>): Promise<KeyView | PolicyError>;
  /**
   * Revokes a key at once (revoking twice answers the same record). The caller must hold every
   * scope of the key, unless it is the caller's own key.
   */
  revoke(caller: Principal, id: string): Promise<KeyView | PolicyError>;
  /**
   * A new key with the old one's name, environment, scopes and expiry, owned by the caller (its
   * user and tier, as for `create`); the old one keeps working `grace_period_seconds`
   * (0..604800, default 0), then expires. A key has one successor: a key rolled already is 409
   * `key_already_rolled`, however many rolls race. The caller must hold every scope of the key.
   * The new key carries the old one's name and scopes as they are when the roll takes effect (a
   * concurrent rename or scope change makes the roll start again; 503 after 5 attempts), and
   * rolling a key ends the key it replaced at once: a chain of rolls holds two active keys at most.
   */
  roll(caller: Principal, id: string, input: Readonly<Record<string, unknown>>): Promise<CreatedKey | PolicyError>;
}

/** The wire view of a record at `now` (ms). */
export function toKeyView(record: ApiKeyRecord, now: number): KeyView {
  const status: KeyStatus =
    record.revoked_at !== null ? "revoked" : record.expires_at !== null && Date.parse(record.expires_at) <= now ? "expired" : "active";
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    environment: record.environment,
    rate_limit_tier: record.rate_limit_tier,
    scopes: record.scopes,
    created_at: record.created_at,
    last_used_at: record.last_used_at ?? null,
    expires_at: record.expires_at,
    revoked_at: record.revoked_at,
    status,
  };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function readName(v: unknown, errors: FieldError[]): string | undefined {
  // Well-formed UTF-16 only: a lone surrogate has no UTF-8 form, and stores (Redis scripts) refuse it.
  if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_KEY_NAME_LENGTH || CONTROL.test(v) || !isWellFormedText(v)) {
    errors.push({ field: "name", message: `must be a string of 1 to ${MAX_KEY_NAME_LENGTH} characters, without control characters or lone surrogates` });
    return undefined;
  }
  return v;
}

function readScopes(v: unknown, errors: FieldError[]): string[] | undefined {
  if (!Array.isArray(v) || v.some((s) => !isScope(s))) {
    errors.push({ field: "scopes", message: 'must be an array of scopes like "vault:read"' });
    return undefined;
  }
  return [...new Set(v as string[])].sort();
}

// RFC 3339 date-time: `2027-01-31T00:00:00Z`, fractions and offsets allowed; nothing Date.parse
// would guess at (`"2030"`, RFC 2822 dates), and no day that does not exist (`2030-02-30`).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds of a strict RFC 3339 date-time, or NaN. */
export function parseRfc3339(v: string): number {
  const m = RFC3339.exec(v);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return Number.NaN;
  return Date.parse(v);
}

function notFound(): PolicyError {
  return policyError("not_found", "No API key with this id.");
}

function alreadyRolled(): PolicyError {
  return policyError("key_already_rolled", "This key has been rolled already; roll its successor instead.");
}

/** How many times a roll starts again when the key changes under it. */
const ROLL_ATTEMPTS = 5;
const RETRY = Symbol("retry");

const TIER_RANK: Readonly<Record<RateLimitTier, number>> = { free: 0, standard: 1, pro: 2, enterprise: 3 };

/** The store, hasher, environment and invalidation of either form, checked. */
function resolveKeyManagerOptions(options: KeyManagerOptions): {
  keyStore: KeyStore;
  keyHasher: KeyHasher;
  environment: Environment;
  invalidate: (digest: string) => void;
} {
  if (options === null || typeof options !== "object") throw new TypeError("createKeyManager: pass an options object with `policy` or `keyStore`");
  let keyStore: KeyStore, keyHasher: KeyHasher, environment: Environment | undefined, invalidate: ((digest: string) => void) | undefined;
  let where: { store: string; hasher: string; environment: string };
  if (options.policy !== undefined) {
    // One source of truth: a store or hasher beside the policy's could silently disagree with it.
    for (const name of ["keyStore", "keyHasher", "environment", "invalidate"] as const) {
      if (options[name] !== undefined) {
        throw new TypeError(`createKeyManager: \`${name}\` cannot be given with \`policy\` (the policy's own is used); pass one or the other`);
      }
    }
    const { policy } = options;
    if (policy === null || typeof policy !== "object") throw new TypeError("createKeyManager: `policy` must be a policy (with stores.keys, keyHasher, environment and keyCache)");
    if (!policy.keyCache || typeof policy.keyCache.invalidate !== "function") throw new TypeError("createKeyManager: `policy.keyCache` must be a VerifiedKeyCache");
    const cache = policy.keyCache;
    ({ keyHasher, environment } = policy);
    keyStore = policy.stores?.keys;
    invalidate = (digest) => cache.invalidate(digest);
    where = { store: "policy.stores.keys", hasher: "policy.keyHasher", environment: "policy.environment" };
  } else {
    ({ keyStore, keyHasher, environment, invalidate } = options);
    if (invalidate !== undefined && typeof invalidate !== "function") throw new TypeError("createKeyManager: `invalidate` must be a function");
    where = { store: "keyStore", hasher: "keyHasher", environment: "environment" };
  }
  if (!keyStore || typeof keyStore.put !== "function") throw new TypeError(`createKeyManager: \`${where.store}\` must be a KeyStore`);
  if (typeof keyStore.patch !== "function") throw new TypeError(`createKeyManager: \`${where.store}\` must implement \`patch\` (atomic field changes)`);
  if (typeof keyStore.insert !== "function") {
    throw new TypeError(`createKeyManager: \`${where.store}\` must implement \`insert\` (never overwrites, with the active-key cap)`);
  }
  if (!keyHasher || typeof keyHasher.digest !== "function") throw new TypeError(`createKeyManager: \`${where.hasher}\` must come from createKeyHasher`);
  environment ??= "live";
  if (environment !== "live" && environment !== "test") throw new TypeError(`createKeyManager: \`${where.environment}\` must be "live" or "test"`);
  return { keyStore, keyHasher, environment, invalidate: invalidate ?? (() => {}) };
}

/**
 * Key lifecycle for a tenant's callers: create, list, get, update, revoke, roll. Beside a
 * policy, pass it: the manager uses its key store, hasher and environment and drops its cached
 * verification on every change. Without one (an admin tool), pass the store and hasher.
 * @example
 * const keys = createKeyManager({ policy, maxActiveKeys: 50 });
 * const created = await keys.create(principal, { name: "CI", environment: "test", scopes: ["vault:read"] });
 * @example
 * // An admin tool with no policy: the store and hasher the API's policy uses.
 * const keys = createKeyManager({ keyStore, keyHasher, environment: "live" });
 */
export function createKeyManager(options: KeyManagerOptions): KeyManager {
  const { keyStore, keyHasher, environment: deployment, invalidate } = resolveKeyManagerOptions(options);
  const maxActiveKeys = options.maxActiveKeys ?? DEFAULT_MAX_ACTIVE_KEYS;
  if (!Number.isSafeInteger(maxActiveKeys) || maxActiveKeys < 1) throw new TypeError("createKeyManager: `maxActiveKeys` must be an integer >= 1");
  if (options.onStoreError !== undefined && typeof options.onStoreError !== "function") throw new TypeError("createKeyManager: `onStoreError` must be a function");
  const onStoreError = options.onStoreError ?? (() => {});
  /**
   * A store call whose failure is 503 `service_unavailable` (retry shortly), not a 500: the store
   * is down, the request was fine. A TypeError is a bug (a bad argument or record) and stays one.
   */
  const guarded = <A extends unknown[], R>(operation: KeyStoreOperation, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await call(...args);
      } catch (e) {
        if (e instanceof TypeError) throw e;
        onStoreError(e, operation);
        throw new ProblemError("service_unavailable", "API keys cannot be read or changed right now; retry shortly.", undefined, { "retry-after": "1" });
      }
    };
  const get = guarded("get", keyStore.get.bind(keyStore));
  const list = guarded("list", keyStore.list.bind(keyStore));
  const patch = guarded("patch", keyStore.patch!.bind(keyStore));
  const insert = guarded("insert", keyStore.insert!.bind(keyStore));
  const clock = options.clock ?? systemClock;
  const iso = (ms: number) => new Date(ms).toISOString();

  // No escalation, in either direction: a key can never carry a scope its creator does not
  // hold, and a caller can change (strip, roll, revoke) only a key whose scopes it all holds.
  function escalation(caller: Principal, ...scopeSets: readonly (readonly string[])[]): PolicyError | null {
    const required = [...new Set(scopeSets.flat())].sort();
    const missing = required.filter((s) => !caller.scopes.includes(s));
    return missing.length ? insufficientScope(caller.auth_method, required, missing) : null;
  }

  const isOwnKey = (caller: Principal, id: string) => caller.auth_method === "api_key" && caller.api_key_id === id;

  // A test key (or a test deployment) never mints or manages a live key: a sandbox credential
  // must not reach production ones (the contract is silent; this is our choice).
  function environmentDenied(caller: Principal, target: Environment): PolicyError | null {
    if (target !== "live") return null;
    if (caller.auth_method === "api_key" && caller.environment === "test") {
      return policyError("environment_mismatch", "A test key can create and manage test keys only; use a live key for live keys.", { environment: "test" });
    }
    if (deployment === "test") return policyError("environment_mismatch", "This is a test deployment: it creates test keys only.", { environment: "test" });
    return null;
  }

  // A key takes its creator's tier; OAuth principals carry none, so theirs is standard.
  const tierOf = (caller: Principal): RateLimitTier => (caller.auth_method === "api_key" ? caller.rate_limit_tier : "standard");

  /** Inserts a new key; `capped` applies the tenant's active-key cap (a create, not a roll). */
  async function mint(
    base: Omit<ApiKeyRecord, "id" | "prefix" | "digest" | "created_at" | "revoked_at" | "last_used_at">,
    capped: boolean,
  ): Promise<{ created: CreatedKey; record: ApiKeyRecord } | PolicyError> {
    const key = generateApiKey(base.environment);
    const record: ApiKeyRecord = {
      ...base,
      id: randomUUID(),
      prefix: apiKeyPrefix(key),
      digest: keyHasher.digest(key),
      created_at: iso(clock.now()),
      revoked_at: null,
      last_used_at: null,
    };
    const now = clock.now();
    const outcome = await insert(record, capped ? { activeLimit: { max: maxActiveKeys, nowMs: now } } : {});
    if (outcome === "limit_reached") {
      return policyError("key_limit_reached", `This tenant already holds ${maxActiveKeys} active keys; revoke one before creating another.`, { limit: maxActiveKeys });
    }
    // A fresh UUID and a fresh random key: a collision means a broken random source.
    if (outcome !== "inserted") throw new Error("createKeyManager: the store already holds a key with the new id or digest");
    return { created: { ...toKeyView(record, now), key }, record };
  }

  const owner = (caller: Principal) => ({
    user_id: caller.user_id,
    tenant_id: caller.tenant_id,
    email: caller.auth_method === "api_key" ? caller.email : null,
    rate_limit_tier: tierOf(caller),
  });

  async function owned(caller: Principal, id: string): Promise<ApiKeyRecord | PolicyError> {
    if (typeof id !== "string" || id.length === 0 || id.length > 200) return notFound();
    return (await get(caller.tenant_id, id)) ?? notFound();
  }

  /**
   * Patches an owned key; a key gone in between is 404. Unless `self`, only while the key holds
   * no scope the caller lacks: one widened meanwhile is refused (403) as if read so.
   */
  async function change(caller: Principal, r: ApiKeyRecord, p: KeyPatch, self = false): Promise<KeyView | PolicyError> {
    const result = await patch(caller.tenant_id, r.id, self ? p : { ...p, ifScopesWithin: caller.scopes });
    if (!result) return notFound();
    if (result.applied) invalidate(r.digest);
    else if (!self) {
      const denied = escalation(caller, result.record.scopes, p.scopes ?? []);
      if (denied) return denied;
    }
    return toKeyView(result.record, clock.now());
  }

  /**
   * Removes a successor minted by a roll that did not take effect (nobody ever saw its raw key),
   * or revokes it when the store cannot remove records. Best effort: a failure leaves a key
   * nobody holds.
   */
  async function discard(tenantId: string, record: ApiKeyRecord): Promise<void> {
    try {
      const removed = keyStore.removeUnused ? await keyStore.removeUnused(tenantId, record.id, record.digest) : false;
      if (!removed) await patch(tenantId, record.id, { revokedAt: iso(clock.now()) });
      invalidate(record.digest);
    } catch (e) {
      onStoreError(e, "patch");
    }
  }

  /** One roll from a fresh read; RETRY when the key was renamed or its scopes changed meanwhile. */
  async function rollOnce(caller: Principal, id: string, grace: number): Promise<CreatedKey | PolicyError | typeof RETRY> {
    const r = await owned(caller, id);
    if ("code" in r) return r;
    // Before the status: every roll but the first is refused alike, whatever the grace left.
    if ((r.successor_id ?? null) !== null) return alreadyRolled();
    const now = clock.now();
    const view = toKeyView(r, now);
    if (view.status !== "active") return validationFailed([{ field: "id", message: `the key is ${view.status}; only an active key can be rolled` }]);
    const wrongEnvironment = environmentDenied(caller, r.environment);
    if (wrongEnvironment) return wrongEnvironment;
    const denied = escalation(caller, r.scopes);
    if (denied) return denied;
    // The new key first: until the old one is given its end, a failure leaves the old key as it
    // was. Never refused for the tenant's cap: the old key ends.
    const minted = await mint(
      { ...owner(caller), name: r.name, environment: r.environment, scopes: r.scopes, expires_at: r.expires_at, predecessor_id: r.id },
      false,
    );
    if ("code" in minted) return minted;
    const { created, record } = minted;
    let ended;
    try {
      // The successor and the end in one atomic step, only while the key has no successor and
      // still holds what was read (end, revocation, name, scopes): one successor per key, which
      // carries the key's settings as they are when the roll takes effect. Never later than it
      // would have ended.
      ended = await patch(caller.tenant_id, r.id, {
        expiresBy: iso(now + grace * 1000),
        successorId: record.id,
        ifUnchanged: { expires_at: r.expires_at, revoked_at: r.revoked_at, name: r.name, scopes: r.scopes },
        ifScopesWithin: caller.scopes,
      });
    } catch (e) {
      await discard(caller.tenant_id, record);
      throw e;
    }
    if (!ended?.applied) {
      await discard(caller.tenant_id, record);
      if (!ended) return notFound();
      const current = ended.record;
      if ((current.successor_id ?? null) !== null) return alreadyRolled();
      const widened = escalation(caller, current.scopes);
      if (widened) return widened;
      if (current.revoked_at !== r.revoked_at || current.expires_at !== r.expires_at) {
        return validationFailed([{ field: "id", message: "the key was revoked or ended by another request meanwhile; only an active key can be rolled" }]);
      }
      return RETRY;
    }
    invalidate(r.digest);
    // A chain of rolls keeps at most two active keys: the key rolled now is the only one whose
    // grace may still run, so the key it replaced (still in its own grace) ends now.
    const predecessor = r.predecessor_id ?? null;
    if (predecessor !== null) {
      try {
        const cut = await keyStore.patch!(caller.tenant_id, predecessor, { expiresBy: iso(clock.now()) });
        if (cut?.applied) invalidate(cut.record.digest);
      } catch (e) {
        onStoreError(e, "patch");
      }
    }
    return created;
  }

  return {
    async create(caller, input) {
      const errors: FieldError[] = [];
      const name = readName(input["name"], errors);
      const environment = input["environment"];
      if (environment !== "live" && environment !== "test") errors.push({ field: "environment", message: 'must be "live" or "test"' });
      const scopes = readScopes(input["scopes"], errors);
      let expiresAt: string | null = null;
      const rawExpiry = input["expires_at"];
      if (rawExpiry !== undefined && rawExpiry !== null) {
        const ms = typeof rawExpiry === "string" ? parseRfc3339(rawExpiry) : Number.NaN;
        if (!Number.isFinite(ms) || ms <= clock.now()) errors.push({ field: "expires_at", message: "must be an RFC 3339 date-time in the future, like 2027-01-31T00:00:00Z" });
        else expiresAt = iso(ms);
      }
      if (errors.length || name === undefined || scopes === undefined) return validationFailed(errors);
      const wrongEnvironment = environmentDenied(caller, environment as Environment);
      if (wrongEnvironment) return wrongEnvironment;
      const denied = escalation(caller, scopes);
      if (denied) return denied;
      const minted = await mint({ ...owner(caller), name, environment: environment as Environment, scopes, expires_at: expiresAt }, true);
      return "code" in minted ? minted : minted.created;
    },

    async list(caller, page = {}) {
      const limit = page.limit ?? DEFAULT_LIMIT;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("KeyManager.list: `limit` must be an integer >= 1");
      // One more than the page: whether there is a next page, without counting the rest.
      const records = await list(caller.tenant_id, { limit: limit + 1, after: page.cursor ?? null });
      const now = clock.now();
      const data = records.slice(0, limit).map((r) => toKeyView(r, now));
      const has_more = records.length > limit;
      const last = data[data.length - 1];
      return { data, has_more, next_cursor: has_more && last ? encodeCursor(last) : null };
    },

    async get(caller, id) {
      const r = await owned(caller, id);
      return "code" in r ? r : toKeyView(r, clock.now());
    },

    async update(caller, id, input) {
      const errors: FieldError[] = [];
      const name = input["name"] === undefined ? undefined : readName(input["name"], errors);
      const scopes = input["scopes"] === undefined ? undefined : readScopes(input["scopes"], errors);
      for (const field of Object.keys(input)) {
        if (field !== "name" && field !== "scopes") errors.push({ field, message: "cannot be changed" });
      }
      if (errors.length) return validationFailed(errors);
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const wrongEnvironment = environmentDenied(caller, r.environment);
      if (wrongEnvironment) return wrongEnvironment;
      // The caller must hold every scope the key has now and every scope of the result, a rename included.
      const denied = escalation(caller, r.scopes, scopes ?? r.scopes);
      if (denied) return denied;
      return change(caller, r, { ...(name !== undefined ? { name } : {}), ...(scopes ? { scopes } : {}) });
    },

    async revoke(caller, id) {
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const wrongEnvironment = environmentDenied(caller, r.environment);
      if (wrongEnvironment) return wrongEnvironment;
      // A key may always revoke itself (a leaked key's holder can kill it); else no escalation.
      const self = isOwnKey(caller, r.id);
      const denied = self ? null : escalation(caller, r.scopes);
      if (denied) return denied;
      if (r.revoked_at !== null) return toKeyView(r, clock.now());
      return change(caller, r, { revokedAt: iso(clock.now()) }, self);
    },

    async roll(caller, id, input) {
      const grace = input["grace_period_seconds"] === undefined ? 0 : input["grace_period_seconds"];
      if (typeof grace !== "number" || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
        return validationFailed([{ field: "grace_period_seconds", message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}` }]);
      }
      // A rename or a scope change that lands between the read and the roll's own step makes the
      // step fail (the successor must carry what the key holds when the roll takes effect): the
      // roll starts again from a fresh read, a few times.
      for (let attempt = 1; ; attempt++) {
        const outcome = await rollOnce(caller, id, grace);
        if (outcome !== RETRY) return outcome;
        if (attempt >= ROLL_ATTEMPTS) {
          return policyError("service_unavailable", "The key kept changing while it was rolled; retry shortly.", undefined, { "retry-after": "1" });
        }
      }
    },
  };
}

import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../clock";
import type { ApiKeyRecord, KeyPatch, KeyStore, Principal, RateLimitTier } from "../credentials";
import { apiKeyPrefix, generateApiKey, type Environment, type KeyHasher } from "../keys";
import { policyError, type PolicyError } from "../problems";
import { insufficientScope, isScope } from "../scopes";

/** A key's state as the Developer Console shows it. */
export type KeyStatus = "active" | "expired" | "revoked";

/** A key record as it goes on the wire (contract section 9): never the digest, never the raw key. */
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

/** Options of `createKeyManager`. */
export interface KeyManagerOptions {
  readonly keyStore: KeyStore;
  readonly keyHasher: KeyHasher;
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * Told the digest of every key whose verification changed (revoke, roll, update), so that every
   * instance drops its cached verification at once: a `VerifiedKeyCache.invalidate`, or a
   * publisher that reaches the other instances. Without it the policy's cache TTL (1 s) bounds it.
   */
  readonly invalidate?: (digest: string) => void;
  /**
   * The deployment's environment: a `test` deployment creates test keys only (a live key could not
   * be used there). Test keys themselves can create and manage test keys only, whatever this is.
   * @default "live"
   */
  readonly environment?: Environment;
}

/** Key lifecycle over a `KeyStore` (contract section 9). Every call is scoped to the caller's tenant. */
export interface KeyManager {
  /** A new key with the caller's tier; the caller must hold every scope it asks for. */
  create(caller: Principal, input: Readonly<Record<string, unknown>>): Promise<CreatedKey | PolicyError>;
  /** The tenant's keys, newest first. */
  list(caller: Principal): Promise<KeyView[]>;
  /** One key of the tenant, or 404 `not_found`. */
  get(caller: Principal, id: string): Promise<KeyView | PolicyError>;
  /** Renames a key or changes its scopes (never beyond the caller's). */
  update(caller: Principal, id: string, input: Readonly<Record<string, unknown>>): Promise<KeyView | PolicyError>;
  /** Revokes a key at once (revoking twice answers the same record). */
  revoke(caller: Principal, id: string): Promise<KeyView | PolicyError>;
  /**
   * A new key with the old one's name, environment, scopes and expiry, owned by the caller (its
   * user and tier, as for `create`); the old one keeps working `grace_period_seconds`
   * (0..604800, default 0), then expires.
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

type FieldError = { field: string; message: string };

function invalid(errors: FieldError[]): PolicyError {
  return policyError("validation_failed", `The request has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}.`, { errors });
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function readName(v: unknown, errors: FieldError[]): string | undefined {
  if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_KEY_NAME_LENGTH || CONTROL.test(v)) {
    errors.push({ field: "name", message: `must be a string of 1 to ${MAX_KEY_NAME_LENGTH} characters, without control characters` });
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

const TIER_RANK: Readonly<Record<RateLimitTier, number>> = { free: 0, standard: 1, pro: 2, enterprise: 3 };

/**
 * @example
 * const keys = createKeyManager({ keyStore, keyHasher, invalidate: (d) => policy.keyCache.invalidate(d) });
 * const created = await keys.create(principal, { name: "CI", environment: "test", scopes: ["vault:read"] });
 */
export function createKeyManager(options: KeyManagerOptions): KeyManager {
  if (!options?.keyStore || typeof options.keyStore.put !== "function") throw new TypeError("createKeyManager: `keyStore` must be a KeyStore");
  if (typeof options.keyStore.patch !== "function") throw new TypeError("createKeyManager: `keyStore` must implement `patch` (atomic field changes)");
  if (!options.keyHasher || typeof options.keyHasher.digest !== "function") throw new TypeError("createKeyManager: `keyHasher` must come from createKeyHasher");
  const deployment = options.environment ?? "live";
  if (deployment !== "live" && deployment !== "test") throw new TypeError('createKeyManager: `environment` must be "live" or "test"');
  const { keyStore, keyHasher } = options;
  const patch = keyStore.patch!.bind(keyStore);
  const clock = options.clock ?? systemClock;
  const invalidate = options.invalidate ?? (() => {});
  const iso = (ms: number) => new Date(ms).toISOString();

  // No escalation: a key can never carry a scope its creator does not hold.
  function escalation(caller: Principal, scopes: readonly string[]): PolicyError | null {
    const missing = scopes.filter((s) => !caller.scopes.includes(s));
    return missing.length ? insufficientScope(caller.auth_method, scopes, missing) : null;
  }

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

  async function mint(base: Omit<ApiKeyRecord, "id" | "prefix" | "digest" | "created_at" | "revoked_at" | "last_used_at">): Promise<{ created: CreatedKey; record: ApiKeyRecord }> {
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
    await keyStore.put(record);
    return { created: { ...toKeyView(record, clock.now()), key }, record };
  }

  const owner = (caller: Principal) => ({
    user_id: caller.user_id,
    tenant_id: caller.tenant_id,
    email: caller.auth_method === "api_key" ? caller.email : null,
    rate_limit_tier: tierOf(caller),
  });

  async function owned(caller: Principal, id: string): Promise<ApiKeyRecord | PolicyError> {
    if (typeof id !== "string" || id.length === 0 || id.length > 200) return notFound();
    return (await keyStore.get(caller.tenant_id, id)) ?? notFound();
  }

  /** Patches an owned key; a key gone in between is 404. */
  async function change(caller: Principal, r: ApiKeyRecord, p: KeyPatch): Promise<KeyView | PolicyError> {
    const result = await patch(caller.tenant_id, r.id, p);
    if (!result) return notFound();
    if (result.applied) invalidate(r.digest);
    return toKeyView(result.record, clock.now());
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
      if (errors.length || name === undefined || scopes === undefined) return invalid(errors);
      const wrongEnvironment = environmentDenied(caller, environment as Environment);
      if (wrongEnvironment) return wrongEnvironment;
      const denied = escalation(caller, scopes);
      if (denied) return denied;
      return (await mint({ ...owner(caller), name, environment: environment as Environment, scopes, expires_at: expiresAt })).created;
    },

    async list(caller) {
      const now = clock.now();
      return (await keyStore.list(caller.tenant_id)).map((r) => toKeyView(r, now));
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
      if (errors.length) return invalid(errors);
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const wrongEnvironment = environmentDenied(caller, r.environment);
      if (wrongEnvironment) return wrongEnvironment;
      // The caller must hold every scope of the resulting key, a rename included.
      const denied = escalation(caller, scopes ?? r.scopes);
      if (denied) return denied;
      return change(caller, r, { ...(name !== undefined ? { name } : {}), ...(scopes ? { scopes } : {}) });
    },

    async revoke(caller, id) {
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const wrongEnvironment = environmentDenied(caller, r.environment);
      if (wrongEnvironment) return wrongEnvironment;
      if (r.revoked_at !== null) return toKeyView(r, clock.now());
      return change(caller, r, { revokedAt: iso(clock.now()) });
    },

    async roll(caller, id, input) {
      const grace = input["grace_period_seconds"] === undefined ? 0 : input["grace_period_seconds"];
      if (typeof grace !== "number" || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
        return invalid([{ field: "grace_period_seconds", message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}` }]);
      }
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const now = clock.now();
      const view = toKeyView(r, now);
      if (view.status !== "active") return invalid([{ field: "id", message: `the key is ${view.status}; only an active key can be rolled` }]);
      const wrongEnvironment = environmentDenied(caller, r.environment);
      if (wrongEnvironment) return wrongEnvironment;
      const denied = escalation(caller, r.scopes);
      if (denied) return denied;
      // The new key first: until the old one is given its end, a failure leaves the old key as it was.
      const { created, record } = await mint({ ...owner(caller), name: r.name, environment: r.environment, scopes: r.scopes, expires_at: r.expires_at });
      const undo = () => patch(caller.tenant_id, record.id, { revokedAt: iso(clock.now()) }).then(() => invalidate(record.digest), () => {});
      let ended;
      try {
        // Only if nobody rolled or revoked it meanwhile: one successor per key. Never later than it would have ended.
        ended = await patch(caller.tenant_id, r.id, { expiresBy: iso(now + grace * 1000), ifUnchanged: { expires_at: r.expires_at, revoked_at: r.revoked_at } });
      } catch (e) {
        await undo();
        throw e;
      }
      if (!ended?.applied) {
        await undo();
        if (!ended) return notFound();
        return invalid([{ field: "id", message: "the key was rolled or revoked by another request meanwhile; read it again" }]);
      }
      invalidate(r.digest);
      return created;
    },
  };
}

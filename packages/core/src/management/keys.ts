import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../clock";
import type { ApiKeyRecord, KeyStore, Principal, RateLimitTier } from "../credentials";
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
  /** A new key with the same settings; the old one keeps working `grace_period_seconds` (0..604800), then expires. */
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

function readName(v: unknown, errors: FieldError[]): string | undefined {
  if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_KEY_NAME_LENGTH) {
    errors.push({ field: "name", message: `must be a string of 1 to ${MAX_KEY_NAME_LENGTH} characters` });
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

function notFound(): PolicyError {
  return policyError("not_found", "No API key with this id.");
}

/**
 * @example
 * const keys = createKeyManager({ keyStore, keyHasher, invalidate: (d) => policy.keyCache.invalidate(d) });
 * const created = await keys.create(principal, { name: "CI", environment: "test", scopes: ["vault:read"] });
 */
export function createKeyManager(options: KeyManagerOptions): KeyManager {
  if (!options?.keyStore || typeof options.keyStore.put !== "function") throw new TypeError("createKeyManager: `keyStore` must be a KeyStore");
  if (!options.keyHasher || typeof options.keyHasher.digest !== "function") throw new TypeError("createKeyManager: `keyHasher` must come from createKeyHasher");
  const { keyStore, keyHasher } = options;
  const clock = options.clock ?? systemClock;
  const invalidate = options.invalidate ?? (() => {});
  const iso = (ms: number) => new Date(ms).toISOString();

  // No escalation: a key can never carry a scope its creator does not hold.
  function escalation(caller: Principal, scopes: readonly string[]): PolicyError | null {
    const missing = scopes.filter((s) => !caller.scopes.includes(s));
    return missing.length ? insufficientScope(caller.auth_method, scopes, missing) : null;
  }

  async function mint(base: Omit<ApiKeyRecord, "id" | "prefix" | "digest" | "created_at" | "revoked_at" | "last_used_at">): Promise<CreatedKey> {
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
    return { ...toKeyView(record, clock.now()), key };
  }

  async function owned(caller: Principal, id: string): Promise<ApiKeyRecord | PolicyError> {
    if (typeof id !== "string" || id.length === 0 || id.length > 200) return notFound();
    return (await keyStore.get(caller.tenant_id, id)) ?? notFound();
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
        const ms = typeof rawExpiry === "string" ? Date.parse(rawExpiry) : Number.NaN;
        if (!Number.isFinite(ms) || ms <= clock.now()) errors.push({ field: "expires_at", message: "must be an ISO 8601 date-time in the future" });
        else expiresAt = iso(ms);
      }
      if (errors.length || name === undefined || scopes === undefined) return invalid(errors);
      // A test key is a sandbox credential: it cannot mint a live one (contract silent; our choice).
      if (caller.auth_method === "api_key" && caller.environment === "test" && environment === "live") {
        return policyError("environment_mismatch", "A test key can create test keys only; use a live key to create a live key.", { environment: "test" });
      }
      const denied = escalation(caller, scopes);
      if (denied) return denied;
      return mint({
        name,
        user_id: caller.user_id,
        tenant_id: caller.tenant_id,
        email: caller.auth_method === "api_key" ? caller.email : null,
        environment: environment as Environment,
        // A key takes its creator's tier; OAuth principals carry none, so theirs is standard.
        rate_limit_tier: caller.auth_method === "api_key" ? caller.rate_limit_tier : "standard",
        scopes,
        expires_at: expiresAt,
      });
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
      if (scopes) {
        const denied = escalation(caller, scopes);
        if (denied) return denied;
      }
      const next: ApiKeyRecord = { ...r, ...(name !== undefined ? { name } : {}), ...(scopes ? { scopes } : {}) };
      await keyStore.put(next);
      invalidate(r.digest);
      return toKeyView(next, clock.now());
    },

    async revoke(caller, id) {
      const r = await owned(caller, id);
      if ("code" in r) return r;
      if (r.revoked_at !== null) return toKeyView(r, clock.now());
      const next = { ...r, revoked_at: iso(clock.now()) };
      await keyStore.put(next);
      invalidate(r.digest);
      return toKeyView(next, clock.now());
    },

    async roll(caller, id, input) {
      const grace = input["grace_period_seconds"] ?? 0;
      if (typeof grace !== "number" || !Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_PERIOD_SECONDS) {
        return invalid([{ field: "grace_period_seconds", message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}` }]);
      }
      const r = await owned(caller, id);
      if ("code" in r) return r;
      const now = clock.now();
      const view = toKeyView(r, now);
      if (view.status !== "active") return invalid([{ field: "id", message: `the key is ${view.status}; only an active key can be rolled` }]);
      const denied = escalation(caller, r.scopes);
      if (denied) return denied;
      const created = await mint({
        name: r.name,
        user_id: r.user_id,
        tenant_id: r.tenant_id,
        email: r.email,
        environment: r.environment,
        rate_limit_tier: r.rate_limit_tier,
        scopes: r.scopes,
        expires_at: r.expires_at,
      });
      // The old key keeps working until the grace period ends (never later than it would have).
      const end = now + grace * 1000;
      const oldEnd = r.expires_at === null ? Number.POSITIVE_INFINITY : Date.parse(r.expires_at);
      await keyStore.put({ ...r, expires_at: iso(Math.min(end, oldEnd)) });
      invalidate(r.digest);
      return created;
    },
  };
}

import { randomUUID } from "node:crypto";
import {
  RATE_LIMIT_TIERS,
  apiKeyPrefix,
  generateApiKey,
  isScope,
  isWellFormedText,
  normalizeScopes,
  parseApiKey,
  type ApiKeyRecord,
  type KeyHasher,
  type KeyStore,
  type RateLimitTier,
} from "@alloovium/core";

/** The seed file (contract section 8). Raw keys are for development and tests only. */
export interface SeedFile {
  /** `credits`: the tenant's starting balance (default 100,000). */
  tenants: { id: string; name: string; credits?: number }[];
  users: { id: string; tenant_id: string; email?: string | null }[];
  api_keys: {
    id: string;
    user_id: string;
    name: string;
    key: string;
    rate_limit_tier: "free" | "standard" | "pro" | "enterprise";
    scopes: string[];
    revoked?: boolean;
    expires_at?: string | null;
  }[];
}

/** Every scope the platform documents, plus key management and usage: what the demo key holds. */
export const ALL_SCOPES = [
  "chat:read",
  "chat:write",
  "keys:read",
  "keys:write",
  "templates:read",
  "templates:write",
  "usage:read",
  "vault:read",
  "vault:write",
  "workflows:read",
  "workflows:write",
];

/** The demo tenant and user (the quickstart's ids). */
export const DEMO_TENANT = { id: "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8", name: "Demo" };
export const DEMO_USER = { id: "1f02d9ef-2b33-4d1d-9c4a-82f06a91e3d1", tenant_id: DEMO_TENANT.id, email: "alex@example.com" };

function bad(where: string, why: string): never {
  throw new Error(`seed: ${where} ${why}`);
}

/**
 * Checks a seed and turns it into key records (digests only). Error messages name the field,
 * never a raw key.
 */
export function seedRecords(seed: SeedFile, hasher: KeyHasher, now = new Date()): ApiKeyRecord[] {
  if (!seed || typeof seed !== "object") bad("", "must be a JSON object");
  for (const list of ["tenants", "users", "api_keys"] as const) if (!Array.isArray(seed[list])) bad(list, "must be an array");
  const tenants = new Set<string>();
  seed.tenants.forEach((t, i) => {
    if (!t || typeof t.id !== "string" || t.id === "") bad(`tenants[${i}].id`, "must be a non-empty string");
    tenants.add(t.id);
  });
  const users = new Map<string, { tenant_id: string; email: string | null }>();
  seed.users.forEach((u, i) => {
    if (!u || typeof u.id !== "string" || u.id === "") bad(`users[${i}].id`, "must be a non-empty string");
    if (!tenants.has(u.tenant_id)) bad(`users[${i}].tenant_id`, "must name a tenant of the seed");
    if (u.email !== undefined && u.email !== null && (typeof u.email !== "string" || !isWellFormedText(u.email))) {
      bad(`users[${i}].email`, "must be a string (well-formed UTF-16, no lone surrogate) or null");
    }
    users.set(u.id, { tenant_id: u.tenant_id, email: u.email ?? null });
  });
  const ids = new Set<string>();
  const digests = new Set<string>();
  return seed.api_keys.map((k, i) => {
    const at = `api_keys[${i}]`;
    if (!k || typeof k.id !== "string" || k.id === "") bad(`${at}.id`, "must be a non-empty string");
    if (ids.has(k.id)) bad(`${at}.id`, "is listed twice");
    ids.add(k.id);
    const user = users.get(k.user_id) ?? bad(`${at}.user_id`, "must name a user of the seed");
    if (typeof k.name !== "string" || !isWellFormedText(k.name)) bad(`${at}.name`, "must be a string (well-formed UTF-16, no lone surrogate)");
    const parsed = typeof k.key === "string" ? parseApiKey(k.key) : null;
    if (!parsed?.ok) bad(`${at}.key`, "is not a valid API key (format or checksum)");
    // One raw key under two ids would store one of them only (an insert never takes a digest twice).
    const digest = hasher.digest(k.key);
    if (digests.has(digest)) bad(`${at}.key`, "is listed twice");
    digests.add(digest);
    if (!RATE_LIMIT_TIERS.includes(k.rate_limit_tier as RateLimitTier)) bad(`${at}.rate_limit_tier`, "must be free, standard, pro or enterprise");
    if (!Array.isArray(k.scopes) || !k.scopes.every(isScope)) bad(`${at}.scopes`, 'must be an array of "resource:action" scopes');
    const expires = k.expires_at ?? null;
    if (expires !== null && (typeof expires !== "string" || Number.isNaN(Date.parse(expires)))) bad(`${at}.expires_at`, "must be an ISO 8601 date-time or null");
    return {
      id: k.id,
      name: k.name,
      prefix: apiKeyPrefix(k.key),
      digest,
      user_id: k.user_id,
      tenant_id: user.tenant_id,
      email: user.email,
      environment: parsed.key.environment,
      rate_limit_tier: k.rate_limit_tier,
      scopes: normalizeScopes(k.scopes),
      created_at: now.toISOString(),
      // One canonical form (what every store reads alike), the instant unchanged.
      expires_at: expires === null ? null : new Date(Date.parse(expires)).toISOString(),
      revoked_at: k.revoked === true ? now.toISOString() : null,
    };
  });
}

/**
 * Inserts the seed's key records that the store does not hold yet, never replacing one: a
 * restart with the same seed (on a shared Redis) keeps every revocation, roll and scope change
 * made since. Answers how many were inserted; `log` is told one line per record left as it is
 * (by id, never the key).
 */
export async function insertSeedRecords(store: KeyStore, records: readonly ApiKeyRecord[], log: (line: string) => void = () => {}): Promise<number> {
  if (typeof store.insert !== "function") throw new TypeError("seed: the key store must implement `insert`");
  let inserted = 0;
  for (const record of records) {
    if ((await store.insert(record)) === "inserted") inserted++;
    else log(`seed: api key ${record.id} is already stored; left as it is`);
  }
  return inserted;
}

/** The starting balance of every seed tenant that sets `credits` (an integer >= 0). */
export function seedCreditGrants(seed: SeedFile): Map<string, number> {
  const grants = new Map<string, number>();
  seed.tenants.forEach((t, i) => {
    if (t.credits === undefined) return;
    if (typeof t.credits !== "number" || !Number.isSafeInteger(t.credits) || t.credits < 0) bad(`tenants[${i}].credits`, "must be an integer >= 0");
    grants.set(t.id, t.credits);
  });
  return grants;
}

/** The demo key: an `ak_test_` key with every scope, in the demo tenant. Returns the raw key once. */
export async function seedDemo(store: KeyStore, hasher: KeyHasher, now = new Date()): Promise<string> {
  const key = generateApiKey("test");
  await insertSeedRecords(store, [{
    id: randomUUID(),
    name: "Demo key",
    prefix: apiKeyPrefix(key),
    digest: hasher.digest(key),
    user_id: DEMO_USER.id,
    tenant_id: DEMO_USER.tenant_id,
    email: DEMO_USER.email,
    environment: "test",
    rate_limit_tier: "standard",
    scopes: normalizeScopes(ALL_SCOPES),
    created_at: now.toISOString(),
    expires_at: null,
    revoked_at: null,
  }]);
  return key;
}

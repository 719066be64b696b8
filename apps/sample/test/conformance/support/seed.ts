import { generateApiKey } from "@alloovium/core";
import type { SeedFile } from "../../../src/server";

/** Fixed ids, so that a failure names the same tenant, user and key on every run. */
export const TENANT = {
  acme: "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8",
  other: "0b6f3d52-6a3e-4d61-9a57-1f1c3f0e2b11",
  pages: "7d3c2b1a-4f5e-4a6b-8c7d-9e0f1a2b3c4d",
  /** Starts with a small credit balance (`METERED_CREDITS`). */
  metered: "8e4d3c2b-5a6f-4b7c-9d8e-0f1a2b3c4d5e",
} as const;

/** The starting balance of the metered tenant: small enough to run out in a test. */
export const METERED_CREDITS = 3;

export const USER = {
  alex: "1f02d9ef-2b33-4d1d-9c4a-82f06a91e3d1",
  noEmail: "2a13e0f0-3c44-4e2e-8d8b-93f17b02f4e2",
  olga: "3b24f101-4d55-4f3f-9e9c-a4028c13a5f3",
  pat: "4c350212-5e66-4a4a-8fad-b5139d24b604",
  mia: "5d461323-6f77-4b5b-9abe-c6240e35c715",
} as const;

/** Every scope the sample app's capabilities use, plus some it does not (given unsorted on purpose). */
export const ALL_SCOPES = ["vault:write", "chat:read", "vault:read", "templates:read", "chat:write"];

type Tier = "free" | "standard" | "pro" | "enterprise";
interface KeySpec {
  readonly id: string;
  readonly user: string;
  readonly name: string;
  readonly environment: "live" | "test";
  readonly tier: Tier;
  readonly scopes: readonly string[];
  readonly revoked?: boolean;
  readonly expiresAt?: string | null;
}

/**
 * One key per concern, so that buckets and idempotency records never leak from one test into
 * another: each key is used by one group of tests only.
 */
const KEYS = {
  /** Live, every scope: `/me`, credentials, capabilities. */
  main: { id: "5e2f09bb-9c1e-4e4e-bf97-a4b5e76cf9c8", user: USER.alex, name: "Production Backend", environment: "live", tier: "standard", scopes: ALL_SCOPES },
  /** Test key, every scope, expiring far in the future. */
  test: { id: "6f3010cc-0d2f-4f5f-80a8-b5c6f87d0ad9", user: USER.alex, name: "CI", environment: "test", tier: "standard", scopes: ALL_SCOPES, expiresAt: "2099-01-01T00:00:00+00:00" },
  /** Only vault:read. */
  readOnly: { id: "704121dd-1e30-4060-91b9-c6d7f98e1bea", user: USER.alex, name: "Read only", environment: "live", tier: "standard", scopes: ["vault:read"] },
  /** Free tier, emptied by the rate-limit test. */
  freeExhaust: { id: "815232ee-2f41-4171-82ca-d7e8009f2cfb", user: USER.alex, name: "Free (exhaust)", environment: "live", tier: "free", scopes: ["vault:read"] },
  /** Free tier, for the "costs nothing" checks. */
  freeMeter: { id: "926343ff-3052-4282-93db-e8f911a03d0c", user: USER.alex, name: "Free (meter)", environment: "live", tier: "free", scopes: ["vault:read"] },
  revoked: { id: "a3745410-4163-4393-a4ec-f90a22b14e1d", user: USER.alex, name: "Revoked", environment: "live", tier: "standard", scopes: ALL_SCOPES, revoked: true },
  expired: { id: "b4856521-5274-44a4-b5fd-0a1b33c25f2e", user: USER.alex, name: "Expired", environment: "live", tier: "standard", scopes: ALL_SCOPES, expiresAt: "2020-01-01T00:00:00+00:00" },
  /** A user without an email. */
  noEmail: { id: "c5967632-6385-45b5-86ae-1b2c44d3603f", user: USER.noEmail, name: "No email", environment: "test", tier: "pro", scopes: [] },
  /** Another tenant, read and write. */
  other: { id: "d6a78743-7496-46c6-97bf-2c3d55e47140", user: USER.olga, name: "Other tenant", environment: "live", tier: "pro", scopes: ["vault:read", "vault:write"] },
  /** Its own tenant, so that a page walk sees exactly what it created. */
  pages: { id: "e7b89854-85a7-47d7-a8c0-3d4e66f58251", user: USER.pat, name: "Pages", environment: "live", tier: "enterprise", scopes: ["vault:read", "vault:write"] },
  /** Idempotency tests. */
  idem: { id: "f8c9a965-96b8-48e8-b9d1-4e5f77069362", user: USER.alex, name: "Idempotency", environment: "live", tier: "pro", scopes: ["vault:read", "vault:write"] },
  /** Vault CRUD, validation and transport errors. */
  vault: { id: "09dab076-a7c9-49f9-8ae2-5f6088170473", user: USER.alex, name: "Vault", environment: "live", tier: "pro", scopes: ["vault:read", "vault:write"] },
  /** Key management (section 9): manages keys, but holds no chat or template scope. */
  keys: { id: "1aebc187-b8da-4a0a-9bf3-607199281584", user: USER.alex, name: "Key admin", environment: "live", tier: "pro", scopes: ["keys:read", "keys:write", "usage:read", "vault:read", "vault:write"] },
  /** A test key that manages keys: it may create test keys only. */
  keysTest: { id: "2bfcd298-c9eb-4b1b-8c04-718200392695", user: USER.alex, name: "Key admin (test)", environment: "test", tier: "pro", scopes: ["keys:read", "keys:write", "vault:read"] },
  /** Manages the other tenant's keys. */
  otherKeys: { id: "3c0de3a9-dafc-4c2c-9d15-829311403706", user: USER.olga, name: "Other key admin", environment: "live", tier: "pro", scopes: ["keys:read", "keys:write", "vault:read"] },
  /** The metered tenant's key: reads projects and usage. */
  metered: { id: "4d1ef4ba-eb0d-4d3d-8e26-93a422514817", user: USER.mia, name: "Metered", environment: "live", tier: "pro", scopes: ["usage:read", "vault:read"] },
} as const satisfies Record<string, KeySpec>;

export type KeyName = keyof typeof KEYS;

/** A seed and the raw keys it holds. */
export interface Fixture {
  readonly seed: SeedFile;
  readonly keys: Readonly<Record<KeyName, string>>;
  readonly ids: Readonly<Record<KeyName, string>>;
  readonly specs: typeof KEYS;
  /** Every raw key of the seed: none may ever appear in a response or a log line. */
  readonly secrets: readonly string[];
}

/** A fresh seed with newly generated raw keys. Give the same fixture to servers that must answer alike. */
export function createFixture(): Fixture {
  const keys = {} as Record<KeyName, string>;
  const ids = {} as Record<KeyName, string>;
  const apiKeys: SeedFile["api_keys"] = [];
  for (const [name, spec] of Object.entries(KEYS) as [KeyName, KeySpec][]) {
    const raw = generateApiKey(spec.environment);
    keys[name] = raw;
    ids[name] = spec.id;
    apiKeys.push({
      id: spec.id,
      user_id: spec.user,
      name: spec.name,
      key: raw,
      rate_limit_tier: spec.tier,
      scopes: [...spec.scopes],
      revoked: spec.revoked ?? false,
      expires_at: spec.expiresAt ?? null,
    });
  }
  const seed: SeedFile = {
    tenants: [
      { id: TENANT.acme, name: "Acme" },
      { id: TENANT.other, name: "Other Co" },
      { id: TENANT.pages, name: "Pages Ltd" },
      { id: TENANT.metered, name: "Metered GmbH", credits: METERED_CREDITS },
    ],
    users: [
      { id: USER.alex, tenant_id: TENANT.acme, email: "alex@example.com" },
      { id: USER.noEmail, tenant_id: TENANT.acme, email: null },
      { id: USER.olga, tenant_id: TENANT.other, email: "olga@other.example" },
      { id: USER.pat, tenant_id: TENANT.pages, email: "pat@pages.example" },
      { id: USER.mia, tenant_id: TENANT.metered, email: "mia@metered.example" },
    ],
    api_keys: apiKeys,
  };
  return { seed, keys, ids, specs: KEYS, secrets: Object.values(keys) };
}

/** The tenant of a seeded user. */
export function tenantOf(user: string): string {
  if (user === USER.olga) return TENANT.other;
  if (user === USER.pat) return TENANT.pages;
  if (user === USER.mia) return TENANT.metered;
  return TENANT.acme;
}

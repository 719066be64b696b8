/**
 * Helpers for unit-testing a policy without HTTP: a fake clock, minted keys, memory stores and
 * a request builder. Import from `@alloovium/core/testing`.
 */
import { randomUUID } from "node:crypto";
import { MemoryBucketStore } from "../buckets";
import type { Capability } from "../capabilities";
import type { Clock } from "../clock";
import { MemoryKeyStore, type ApiKeyPrincipal, type ApiKeyRecord, type KeyStore, type OAuthPrincipal, type RateLimitTier } from "../credentials";
import { flattenHeaders } from "../http/headers";
import { MemoryCreditStore } from "../credits";
import { MemoryIdempotencyStore } from "../idempotency";
import { apiKeyPrefix, createKeyHasher, generateApiKey, type Environment, type KeyHasher } from "../keys";
import { createPolicy, type Decision, type Policy, type PolicyOptions, type PolicyRequest } from "../pipeline";
import { normalizeScopes } from "../scopes";

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  #now: number;
  /** @param start epoch ms @default Date.parse("2026-01-01T00:00:00Z") */
  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves forward by `ms`. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError("FakeClock.advance: ms must be >= 0");
    this.#now += ms;
  }
  /** Jumps to `epochMs`. */
  set(epochMs: number): void {
    this.#now = epochMs;
  }
}

/** A pepper for tests only. */
export const TEST_PEPPER = { id: "test", secret: "alloovium-test-pepper-not-for-production" } as const;

/** Options of `mintApiKey`. */
export interface MintKeyOptions {
  readonly environment?: Environment;
  readonly tier?: RateLimitTier;
  readonly scopes?: readonly string[];
  readonly tenantId?: string;
  readonly userId?: string;
  readonly email?: string | null;
  readonly name?: string;
  readonly id?: string;
  /** ISO 8601. */
  readonly expiresAt?: string | null;
  /** ISO 8601. */
  readonly revokedAt?: string | null;
  /** ISO 8601. @default the clock's now */
  readonly createdAt?: string;
}

/** Creates a key, stores its record (digest only) and returns the raw key once. */
export async function mintApiKey(
  store: KeyStore,
  hasher: KeyHasher,
  options: MintKeyOptions = {},
  clock: Clock = { now: () => Date.now() },
): Promise<{ readonly key: string; readonly record: ApiKeyRecord }> {
  const environment = options.environment ?? "test";
  const key = generateApiKey(environment);
  const record: ApiKeyRecord = {
    id: options.id ?? randomUUID(),
    name: options.name ?? "Test key",
    prefix: apiKeyPrefix(key),
    digest: hasher.digest(key),
    user_id: options.userId ?? "1f02d9ef-2b33-4d1d-9c4a-82f06a91e3d1",
    tenant_id: options.tenantId ?? "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8",
    email: options.email === undefined ? "alex@example.com" : options.email,
    environment,
    rate_limit_tier: options.tier ?? "standard",
    scopes: normalizeScopes(options.scopes ?? []),
    created_at: options.createdAt ?? new Date(clock.now()).toISOString(),
    expires_at: options.expiresAt ?? null,
    revoked_at: options.revokedAt ?? null,
  };
  await store.put(record);
  return { key, record };
}

export { MemoryBucketStore, MemoryCreditStore, MemoryIdempotencyStore, MemoryKeyStore };

/**
 * A principal for unit-testing a handler without a policy: an API-key principal by default,
 * an OAuth one with `{ auth_method: "oauth" }`. Scopes are sorted as the pipeline sorts them.
 * @example mintPrincipal({ scopes: ["vault:read"] })
 */
export function mintPrincipal(overrides?: Partial<Omit<ApiKeyPrincipal, "auth_method">> & { auth_method?: "api_key" }): ApiKeyPrincipal;
export function mintPrincipal(overrides: Partial<Omit<OAuthPrincipal, "auth_method">> & { auth_method: "oauth" }): OAuthPrincipal;
export function mintPrincipal(overrides: Record<string, unknown> = {}): ApiKeyPrincipal | OAuthPrincipal {
  const scopes = normalizeScopes((overrides.scopes as string[] | undefined) ?? []);
  const base = {
    user_id: (overrides.user_id as string | undefined) ?? "1f02d9ef-2b33-4d1d-9c4a-82f06a91e3d1",
    tenant_id: (overrides.tenant_id as string | undefined) ?? "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8",
  };
  if (overrides.auth_method === "oauth") {
    return { ...base, auth_method: "oauth", client_id: (overrides.client_id as string | undefined) ?? "client_9a8b7c6d", scopes };
  }
  return {
    ...base,
    auth_method: "api_key",
    email: overrides.email === undefined ? "alex@example.com" : (overrides.email as string | null),
    api_key_id: (overrides.api_key_id as string | undefined) ?? "5e2f09bb-9c1e-4e4e-bf97-a4b5e76cf9c8",
    api_key_name: (overrides.api_key_name as string | undefined) ?? "Test key",
    api_key_prefix: (overrides.api_key_prefix as string | undefined) ?? "ak_test_AB7K",
    environment: (overrides.environment as Environment | undefined) ?? "test",
    rate_limit_tier: (overrides.rate_limit_tier as RateLimitTier | undefined) ?? "standard",
    scopes,
  };
}

/** What `policyRequest` takes. */
export interface RequestInit {
  readonly method?: string;
  readonly path?: string;
  readonly query?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  readonly key?: string;
  readonly headers?: Iterable<readonly [string, string]> | Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
}

/** A `PolicyRequest` from friendly parts. */
export function policyRequest(init: RequestInit = {}): PolicyRequest {
  const headers = init.headers ? flattenHeaders(init.headers) : [];
  if (init.key !== undefined) headers.push("Authorization", `Bearer ${init.key}`);
  if (init.idempotencyKey !== undefined) headers.push("Idempotency-Key", init.idempotencyKey);
  const req: { -readonly [K in keyof PolicyRequest]: PolicyRequest[K] } = {
    method: (init.method ?? "GET").toUpperCase(),
    path: init.path ?? "/",
    headers,
  };
  if (init.query !== undefined) req.query = init.query;
  if (init.body !== undefined) req.body = init.body;
  return req;
}

/** A policy on memory stores and a fake clock, with helpers to mint keys and call it. */
export interface TestPolicy {
  readonly policy: Policy;
  readonly clock: FakeClock;
  readonly keyStore: MemoryKeyStore;
  readonly keyHasher: KeyHasher;
  readonly buckets: MemoryBucketStore;
  readonly idempotency: MemoryIdempotencyStore;
  /** The tenants' balances and usage, on the fake clock (absent with `metering: false`). */
  readonly credits: MemoryCreditStore | undefined;
  mintKey(options?: MintKeyOptions): Promise<{ readonly key: string; readonly record: ApiKeyRecord }>;
  /** `decide` for `capability` with a request built by `policyRequest` (path defaults to the capability's). */
  call(capability: Capability, init?: RequestInit): Promise<Decision>;
}

/** Options of `createTestPolicy`: the policy's options but its hasher, clock and stores. */
export type TestPolicyOptions = Partial<Omit<PolicyOptions, "keyHasher" | "clock" | "stores">> & {
  /**
   * Builds the policy from its options, e.g. `(o) => createInstrumentedPolicy(o, telemetry)`
   * from `@alloovium/core/otel`. @default createPolicy
   */
  readonly create?: (options: PolicyOptions) => Policy;
};

/**
 * @example
 * const t = createTestPolicy({ environment: "live" });
 * const { key } = await t.mintKey({ tier: "free" });
 * const decision = await t.call(whoami, { key });
 */
export function createTestPolicy(testOptions: TestPolicyOptions = {}): TestPolicy {
  const { create = createPolicy, ...options } = testOptions;
  const clock = new FakeClock();
  const keyStore = new MemoryKeyStore();
  const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
  const buckets = new MemoryBucketStore({ clock });
  const idempotency = new MemoryIdempotencyStore({ clock });
  const credits = options.metering === false ? undefined : new MemoryCreditStore({ clock });
  const stores = { keys: keyStore, buckets, idempotency, ...(credits ? { credits } : {}) };
  const policy = create({ environment: "live", ...options, keyHasher, clock, stores });
  return {
    policy,
    clock,
    keyStore,
    keyHasher,
    buckets,
    idempotency,
    credits,
    mintKey: (o) => mintApiKey(keyStore, keyHasher, o, clock),
    call: (capability, init = {}) =>
      policy.decide(policyRequest({ method: capability.method, path: capability.path, ...init }), capability),
  };
}

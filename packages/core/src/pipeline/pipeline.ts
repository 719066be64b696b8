import {
  DEFAULT_TIER_LIMITS,
  MemoryBucketStore,
  checkLimits,
  rateLimitHeader,
  rateLimitPolicyHeader,
  retryAfterOf,
  tierLimits,
  type BucketDemand,
  type BucketLimits,
  type BucketRef,
  type BucketResult,
  type BucketStore,
} from "../buckets";
import type { Capability, HttpMethod } from "../capabilities";
import { systemClock, type Clock } from "../clock";
import { DEFAULT_CREDIT_GRANT, MemoryCreditStore, readUsage, type CreditStore, type UsageReport } from "../credits";
import {
  INVALID_TOKEN_CHALLENGE,
  bearerChallenge,
  checkCredentialLocation,
  createVerifiedKeyCache,
  headerValues,
  readBearer,
  type ApiKeyPrincipal,
  type ApiKeyRecord,
  type KeyStore,
  type OAuthVerifier,
  type PolicyRequest,
  type Principal,
  type RateLimitTier,
  type TransportOptions,
  type VerifiedKeyCache,
} from "../credentials";
import { assertTransportOptions } from "../credentials/transport";
import {
  DEFAULT_REPLAY_HEADERS,
  IDEMPOTENCY_TTL_MS,
  MemoryIdempotencyStore,
  parseIdempotencyKey,
  requestFingerprint,
  toStoredResponse,
  type IdempotencyRef,
  type IdempotencyStore,
} from "../idempotency";
import { checkApiKey, type Environment, type KeyHasher } from "../keys";
import {
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  isPolicyError,
  problem,
  policyError,
  type PolicyError,
  type PolicyResponse,
  type Problem,
} from "../problems";
import { insufficientScope, missingScopes } from "../scopes";
import { composeAdmission, type Admission, type AdmissionClaim, type AdmissionRequest, type AdmissionResult } from "./admission";

/** Options of `createPolicy`. Checked when it is called; a bad option throws naming it. */
export interface PolicyOptions {
  /** The deployment's environment: a `test` deployment refuses live keys. */
  readonly environment: Environment;
  /** Where key records live. */
  readonly keyStore: KeyStore;
  /** Digests raw keys for store lookups (`createKeyHasher`). */
  readonly keyHasher: KeyHasher;
  /** The verified-key cache; give one to share it with an invalidation feed. @default a 1 s TTL cache */
  readonly keyCache?: VerifiedKeyCache;
  /** Verifies OAuth access tokens; without it every JWT is `invalid_token`. */
  readonly oauth?: OAuthVerifier;
  /** @default new MemoryBucketStore() */
  readonly buckets?: BucketStore;
  /** @default new MemoryIdempotencyStore() */
  readonly idempotency?: IdempotencyStore;
  /** Bucket, claim and charge in one step (one Redis round trip). @default composeAdmission(buckets, idempotency, credits) */
  readonly admission?: Admission;
  /**
   * Where tenants' credit balances and hourly usage live (contract section 9). Calls are metered
   * when the admission charges a store: `admission.credits` when `admission` is given, else this
   * store; `false` turns metering off (no `credits` RateLimit policy, no 402).
   * @default admission?.credits ?? new MemoryCreditStore()
   */
  readonly credits?: CreditStore | false;
  /** The balance of a new tenant: one for all, or per tenant. @default 100000 */
  readonly creditGrant?: number | ((tenantId: string) => number);
  /**
   * How often a key's `last_used_at` is written, at most, per key and process (off the request's
   * critical path, through `KeyStore.touch` when the store has it); 0 turns it off. @default 60000
   */
  readonly lastUsedIntervalMs?: number;
  /** Bucket sizes per tier. @default DEFAULT_TIER_LIMITS */
  readonly tiers?: Partial<Record<RateLimitTier, BucketLimits>>;
  /**
   * A tenant-wide bucket shared by all of a tenant's credentials (contract section 4), taken
   * together with the credential's bucket, all or nothing, in the same atomic step (one Redis
   * round trip); the headers carry it as the `"tenant"` policy. Its limits: one for every tenant,
   * per tier of the calling credential (a tier left out has none), or a function of the tenant
   * (`undefined`: none). Needs `buckets.consumeAll` (or an `admission` with `tenantBuckets`).
   * @default undefined (no tenant bucket)
   * @example
   * createPolicy({ ...options, tenantBucket: { capacity: 1200, refillPerSecond: 20 } });
   */
  readonly tenantBucket?: TenantBucketOption;
  /** The tier of OAuth clients: one for all, or per `client_id` (others get `standard`). @default "standard" */
  readonly oauthTier?: RateLimitTier | Readonly<Record<string, RateLimitTier>>;
  /** Methods whose `Idempotency-Key` is honoured. @default ["POST", "PATCH"] */
  readonly idempotencyMethods?: readonly HttpMethod[];
  /** How long a claim holds a key before another request may take it over. @default 60000 */
  readonly idempotencyLeaseMs?: number;
  /** How long a completed response is replayed. @default 86400000 (24 hours) */
  readonly idempotencyTtlMs?: number;
  /** When the idempotency store fails: refuse with 503 (`closed`) or run without it (`open`). @default "closed" */
  readonly idempotencyFailure?: "closed" | "open";
  /** Response headers kept for replay. @default DEFAULT_REPLAY_HEADERS */
  readonly replayHeaders?: readonly string[];
  /** Base of problem `type` URIs. @default "https://api.alloovium.com/errors/" */
  readonly problemTypeBase?: string;
  /** The credential-location check (credentials are found by shape): headers a trusted proxy sets, left out. */
  readonly transport?: TransportOptions;
  /** Told of store failures the caller cannot see (a failed `complete`, a failed `release`). */
  readonly onStoreError?: (error: unknown, operation: StoreOperation) => void;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Limits of the tenant-wide bucket: one for all, per credential tier, or per tenant. */
export type TenantBucketOption =
  | BucketLimits
  | Partial<Record<RateLimitTier, BucketLimits>>
  | ((tenantId: string) => BucketLimits | undefined);

/**
 * The store calls whose failures `onStoreError` is told of (`lookup` is the key store behind the
 * verified-key cache). A failed `lookup`, `admit` or `usage` answers 503 `service_unavailable`.
 */
export type StoreOperation = "lookup" | "complete" | "release" | "admit" | "peek" | "charge" | "refund" | "touch" | "usage";

/** A response the adapter writes as is. */
export type WireResponse = PolicyResponse<string>;

/** The handler's response, as the adapter captured it, for the idempotency record. */
export interface HandlerResponse {
  readonly status: number;
  readonly headers: Iterable<readonly [string, string]> | Readonly<Record<string, string | number | readonly string[] | undefined>>;
  readonly body: string;
}

/** Options of `ContinueDecision.commit`. */
export interface CommitOptions {
  /**
   * False when the response cannot be kept for replay (a streamed body): below 500 the credits
   * are kept and the idempotency key is released, so a retry runs again. @default true
   */
  readonly store?: boolean;
}

/** Refused: write `response`. */
export interface RejectDecision {
  readonly kind: "reject";
  readonly response: WireResponse;
  readonly problem: Problem;
}

/** An idempotent replay: write `response`; the handler does not run. */
export interface ReplayDecision {
  readonly kind: "replay";
  readonly response: WireResponse;
}

/** Run the handler; add `headers` to its response; then `commit` it (or `abort` on a throw). */
export interface ContinueDecision {
  readonly kind: "continue";
  readonly principal: Principal;
  readonly capability: Capability;
  /** Headers every response to this request carries (the RateLimit pair). */
  readonly headers: Readonly<Record<string, string>>;
  /** True when an idempotency record was claimed: the adapter must capture the response body. */
  readonly capture: boolean;
  /**
   * True when the adapter must `commit` the response's status (body and headers only with
   * `capture`) or `abort`: an idempotency record or charged credits depend on the outcome.
   */
  readonly settle: boolean;
  /**
   * Settles the request once: below 500 stores the response for replay and keeps the credits;
   * 500 and above releases the key and refunds the credits.
   */
  commit(response: HandlerResponse, options?: CommitOptions): Promise<void>;
  /** The handler threw: releases the key so that a retry runs, refunds the credits. Once. */
  abort(): Promise<void>;
}

/** What the pipeline decided. */
export type Decision = RejectDecision | ReplayDecision | ContinueDecision;

/** The policy: one `decide` per request. */
export interface Policy {
  decide(request: PolicyRequest, capability: Capability): Promise<Decision>;
  /** Renders a problem with this policy's `type` base (for 404/405/413/415 written by adapters). */
  reject(error: PolicyError, extraHeaders?: Readonly<Record<string, string>>): RejectDecision;
  readonly environment: Environment;
  readonly keyCache: VerifiedKeyCache;
  /** The credit store calls are metered in; undefined with `credits: false`. */
  readonly credits: CreditStore | undefined;
  /**
   * `readUsage` over this policy's credit store, grant and clock: the tenant's balance and its
   * calls and credits per capability per hour over the last `hours` (24). Rejects when metering is off.
   */
  usage(tenantId: string, options?: { readonly hours?: number }): Promise<UsageReport>;
  /**
   * The first check of `decide` alone (`checkCredentialLocation` with this policy's `transport`
   * options), for answers written before `decide` runs (404, 405, 413, 415).
   */
  checkCredentialLocation?(request: PolicyRequest): PolicyError | null;
}

const NOOP = async () => {};
/** `Retry-After` of a 503 `service_unavailable` (a store outage), in seconds. */
const UNAVAILABLE_RETRY_AFTER = "1";
/** RFC 6750 3.1: no `error` attribute on a 403 that is not about scopes. */
const BARE_CHALLENGE: Readonly<Record<string, string>> = Object.freeze({ "www-authenticate": bearerChallenge() });
/** The id of the tenant-wide bucket (credential buckets are `key:` or `oauth:`). */
const TENANT_BUCKET_ID = "tenant";
const RESOLVED: Promise<void> = Promise.resolve();

/** What a continuing request was charged, for its refund. */
interface Reservation {
  readonly credits: number;
  readonly hour: number;
  readonly grant: number;
}

/** `"credits";q=100000`: the credits policy of the RateLimit-Policy header (no window). */
export function creditsPolicyMember(grant: number): string {
  return `"credits";q=${grant}`;
}

/** `"credits";r=99987`: the balance, as a member of the RateLimit header. */
export function creditsMember(balance: number): string {
  return `"credits";r=${balance}`;
}

/**
 * A JSON body without the named top-level members (a raw key left out of a stored replay). A
 * body that is not a JSON object is stored as an empty object rather than risk keeping a secret.
 */
export function omitMembers(body: string, members: readonly string[]): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "{}";
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return "{}";
  const kept: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const m of members) delete kept[m];
  try {
    return JSON.stringify(kept);
  } catch {
    return "{}"; // nested deeper than JSON.stringify can write (it recurses): kept out, like a non-object
  }
}
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const TIERS = new Set(["free", "standard", "pro", "enterprise"]);

function isStore(v: unknown, methods: readonly string[]): boolean {
  return !!v && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function");
}

const LIMITS_SHAPE = "limits ({ capacity, refillPerSecond }), limits per tier, or a function of the tenant id";

/**
 * The `tenantBucket` option as a function of (tenant, tier), checked now: a bad value throws
 * naming the option. A function's answers are checked when it answers (a bad one is a bug: 500).
 */
function tenantLimitsOf(option: TenantBucketOption | undefined): ((tenantId: string, tier: RateLimitTier) => BucketLimits | undefined) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === "function") {
    // One frozen object per size, so that the header cache (keyed by limits) stays small.
    const checked = new Map<string, BucketLimits>();
    return (tenantId) => {
      const l = option(tenantId);
      if (l === undefined) return undefined;
      const id = `${String(l?.capacity)}/${String(l?.refillPerSecond)}`;
      let c = checked.get(id);
      if (!c) {
        c = checkLimits("createPolicy: `tenantBucket(tenantId)`", l);
        if (checked.size >= 1000) checked.clear();
        checked.set(id, c);
      }
      return c;
    };
  }
  if (!option || typeof option !== "object") throw new TypeError(`createPolicy: \`tenantBucket\` must be ${LIMITS_SHAPE}`);
  if ("capacity" in option || "refillPerSecond" in option) {
    const all = checkLimits("createPolicy: `tenantBucket`", option as BucketLimits);
    return () => all;
  }
  const perTier: Partial<Record<RateLimitTier, BucketLimits>> = {};
  for (const [tier, l] of Object.entries(option)) {
    if (!TIERS.has(tier)) throw new TypeError(`createPolicy: \`tenantBucket\` must be ${LIMITS_SHAPE}; "${tier}" is not a tier`);
    perTier[tier as RateLimitTier] = checkLimits(`createPolicy: \`tenantBucket.${tier}\``, l as BucketLimits);
  }
  return (_tenantId, tier) => perTier[tier];
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`createPolicy: \`${name}\` must be a positive number of milliseconds`);
  return v;
}

/**
 * Builds the policy every adapter calls. The order of checks is the contract's: credential
 * location -> Authorization -> credential -> environment -> scopes -> cost bucket ->
 * idempotency claim; the first failure answers.
 * @example
 * const policy = createPolicy({ environment: "live", keyStore, keyHasher });
 * const decision = await policy.decide(request, whoami);
 */
export function createPolicy(options: PolicyOptions): Policy {
  if (!options || (options.environment !== "live" && options.environment !== "test")) {
    throw new TypeError('createPolicy: `environment` must be "live" or "test"');
  }
  if (!isStore(options.keyStore, ["findByDigest"])) throw new TypeError("createPolicy: `keyStore` must be a KeyStore");
  if (!isStore(options.keyHasher, ["digest", "candidates"])) throw new TypeError("createPolicy: `keyHasher` must come from createKeyHasher");
  if (options.oauth !== undefined && !isStore(options.oauth, ["verify"])) throw new TypeError("createPolicy: `oauth` must come from createOAuthVerifier");
  if (options.buckets !== undefined && !isStore(options.buckets, ["consume"])) throw new TypeError("createPolicy: `buckets` must be a BucketStore");
  if (options.idempotency !== undefined && !isStore(options.idempotency, ["claim", "complete", "release", "read"])) {
    throw new TypeError("createPolicy: `idempotency` must be an IdempotencyStore");
  }
  if (options.admission !== undefined && !isStore(options.admission, ["admit"])) throw new TypeError("createPolicy: `admission` must be an Admission");
  const failure = options.idempotencyFailure ?? "closed";
  if (failure !== "closed" && failure !== "open") throw new TypeError('createPolicy: `idempotencyFailure` must be "closed" or "open"');
  assertTransportOptions(options.transport);
  const oauthTier = options.oauthTier ?? "standard";
  if (typeof oauthTier === "string" ? !TIERS.has(oauthTier) : Object.values(oauthTier).some((t) => !TIERS.has(t))) {
    throw new TypeError("createPolicy: `oauthTier` must name free, standard, pro or enterprise");
  }
  const idemMethods = new Set<string>(options.idempotencyMethods ?? ["POST", "PATCH"]);
  for (const m of idemMethods) {
    if (SAFE_METHODS.has(m)) throw new TypeError(`createPolicy: \`idempotencyMethods\` cannot include ${m}`);
  }
  const leaseMs = nonNegative("idempotencyLeaseMs", options.idempotencyLeaseMs, 60_000);
  const ttlMs = nonNegative("idempotencyTtlMs", options.idempotencyTtlMs, IDEMPOTENCY_TTL_MS);
  const clock = options.clock ?? systemClock;
  const tiers = options.tiers ? tierLimits(options.tiers) : DEFAULT_TIER_LIMITS;
  const buckets = options.buckets ?? new MemoryBucketStore({ clock });
  const idempotency = options.idempotency ?? new MemoryIdempotencyStore({ clock });
  const tenantLimits = tenantLimitsOf(options.tenantBucket);
  if (tenantLimits && options.admission && options.admission.tenantBuckets !== true) {
    throw new TypeError("createPolicy: `tenantBucket` needs an `admission` that takes tenant buckets (`tenantBuckets: true`, as RedisAdmission and composeAdmission over a store with consumeAll)");
  }
  if (tenantLimits && !options.admission && typeof buckets.consumeAll !== "function") {
    throw new TypeError("createPolicy: `tenantBucket` needs `buckets` with consumeAll (one atomic step for both buckets)");
  }
  if (options.credits !== undefined && options.credits !== false && !isStore(options.credits, ["charge", "refund", "balance", "usage"])) {
    throw new TypeError("createPolicy: `credits` must be a CreditStore or false");
  }
  if (options.admission?.credits && options.credits !== undefined && options.credits !== false && options.credits !== options.admission.credits) {
    throw new TypeError("createPolicy: `credits` must be the store `admission` charges (`admission.credits`), or left out");
  }
  if (options.admission && !options.admission.credits && options.credits) {
    throw new TypeError("createPolicy: `admission` charges no credit store; build it with the `credits` store, or leave `credits` out");
  }
  const credits: CreditStore | undefined =
    options.credits === false ? undefined : options.admission ? options.admission.credits : (options.credits ?? new MemoryCreditStore({ clock }));
  const admission = options.credits === false && !options.admission ? composeAdmission(buckets, idempotency) : (options.admission ?? composeAdmission(buckets, idempotency, credits));
  const grantOption = options.creditGrant ?? DEFAULT_CREDIT_GRANT;
  const validGrant = (g: unknown): g is number => typeof g === "number" && Number.isSafeInteger(g) && g >= 0;
  if (typeof grantOption !== "function" && !validGrant(grantOption)) throw new TypeError("createPolicy: `creditGrant` must be an integer >= 0 or a function of the tenant id");
  const grantOf = typeof grantOption === "function"
    ? (tenantId: string): number => {
        const g = grantOption(tenantId);
        if (!validGrant(g)) throw new TypeError(`createPolicy: \`creditGrant\` answered ${String(g)}, not an integer >= 0`);
        return g;
      }
    : () => grantOption;
  const lastUsedMs = options.lastUsedIntervalMs ?? 60_000;
  if (typeof lastUsedMs !== "number" || !Number.isFinite(lastUsedMs) || lastUsedMs < 0) {
    throw new TypeError("createPolicy: `lastUsedIntervalMs` must be a number of milliseconds >= 0");
  }
  const touchKey = lastUsedMs > 0 && typeof options.keyStore.touch === "function" ? options.keyStore.touch.bind(options.keyStore) : undefined;
  const keyCache = options.keyCache ?? createVerifiedKeyCache({ store: options.keyStore, hasher: options.keyHasher, clock });
  const replayHeaders = (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((h) => h.toLowerCase());
  const typeBase = options.problemTypeBase;
  const problemOptions = typeBase === undefined ? undefined : { typeBase };
  const onStoreError = options.onStoreError ?? (() => {});
  const environment = options.environment;
  // Per tier: its RateLimit-Policy, and the same with the `credits` policy of the last grant seen.
  const policyHeaderCache = new Map<BucketLimits, { readonly tokens: string; grant: number; withCredits: string }>();

  function reject(error: PolicyError, extraHeaders?: Readonly<Record<string, string>>): RejectDecision {
    const body = problem(error.code, error.detail, error.extensions, problemOptions);
    return {
      kind: "reject",
      problem: body,
      response: {
        status: body.status,
        headers: { ...extraHeaders, ...error.headers, "content-type": PROBLEM_CONTENT_TYPE },
        body: JSON.stringify(body),
      },
    };
  }

  /**
   * The RateLimit pair: the credential's bucket, the tenant's (when the policy has one), then
   * (when the balance is known) the `credits` policy.
   */
  function rateHeaders(limits: BucketLimits, result: BucketResult, grant: number, balance?: number, tenant?: BucketPart): Record<string, string> {
    if (tenant) return tenantRateHeaders(limits, result, grant, balance, tenant);
    let p = policyHeaderCache.get(limits);
    if (p === undefined) {
      p = { tokens: rateLimitPolicyHeader(limits), grant: -1, withCredits: "" };
      policyHeaderCache.set(limits, p);
    }
    if (balance === undefined) return { "ratelimit-policy": p.tokens, ratelimit: rateLimitHeader(result) };
    if (p.grant !== grant) {
      p.grant = grant;
      p.withCredits = `${p.tokens}, ${creditsPolicyMember(grant)}`;
    }
    return { "ratelimit-policy": p.withCredits, ratelimit: `${rateLimitHeader(result)}, ${creditsMember(balance)}` };
  }

  const tenantPolicyCache = new WeakMap<BucketLimits, string>();
  function tenantRateHeaders(limits: BucketLimits, result: BucketResult, grant: number, balance: number | undefined, tenant: BucketPart): Record<string, string> {
    let tenantPolicy = tenantPolicyCache.get(tenant.limits);
    if (tenantPolicy === undefined) tenantPolicyCache.set(tenant.limits, (tenantPolicy = rateLimitPolicyHeader(tenant.limits, TENANT_BUCKET_ID)));
    let policy = `${rateLimitPolicyHeader(limits)}, ${tenantPolicy}`;
    let rate = `${rateLimitHeader(result)}, ${rateLimitHeader(tenant.result, TENANT_BUCKET_ID)}`;
    if (balance !== undefined) {
      policy += `, ${creditsPolicyMember(grant)}`;
      rate += `, ${creditsMember(balance)}`;
    }
    return { "ratelimit-policy": policy, ratelimit: rate };
  }

  async function balanceOf(tenantId: string, grant: number): Promise<number | undefined> {
    if (!credits) return undefined;
    try {
      return await credits.balance(tenantId, grant);
    } catch (e) {
      onStoreError(e, "charge");
      return undefined;
    }
  }

  /** RateLimit headers for an authenticated request refused before the bucket: a cost-0 read. */
  async function peekHeaders(ref: BucketRef, limits: BucketLimits, grant: number, tenant?: BucketDemand): Promise<Record<string, string> | undefined> {
    const balance = balanceOf(ref.tenantId, grant);
    try {
      if (!tenant) return rateHeaders(limits, await buckets.consume(ref, 0, limits), grant, await balance);
      const [own, shared] = await Promise.all([buckets.consume(ref, 0, limits), buckets.consume(tenant.ref, 0, tenant.limits)]);
      return rateHeaders(limits, own, grant, await balance, { limits: tenant.limits, result: shared });
    } catch (e) {
      onStoreError(e, "peek");
      return undefined;
    }
  }

  // `last_used_at`, at most once per `lastUsedIntervalMs` per key and process, never awaited.
  const touchedAt = new Map<string, number>();
  /** `slot` remembers, per principal, when the key may be touched again: no map lookup until then. */
  function touch(p: ApiKeyPrincipal, slot: { touchAfter: number }): void {
    const now = clock.now();
    if (now < slot.touchAfter) return;
    const last = touchedAt.get(p.api_key_id);
    if (last !== undefined && now - last < lastUsedMs) {
      slot.touchAfter = last + lastUsedMs;
      return;
    }
    if (touchedAt.size >= 10_000) {
      for (const [id, at] of touchedAt) if (now - at >= lastUsedMs) touchedAt.delete(id);
      // Still full (over 10,000 keys touched within the interval): forget them all rather than
      // scan again on every new key; at worst each is touched once more this interval.
      if (touchedAt.size >= 10_000) touchedAt.clear();
    }
    touchedAt.set(p.api_key_id, now);
    slot.touchAfter = now + lastUsedMs;
    try {
      touchKey!(p.tenant_id, p.api_key_id, new Date(now).toISOString()).catch((e: unknown) => onStoreError(e, "touch"));
    } catch (e) {
      onStoreError(e, "touch"); // a store that throws at once must not fail the request either
    }
  }

  /** The principal, a problem, or a promise of either (only when a store must be asked). */
  function authenticate(req: PolicyRequest): Principal | PolicyError | Promise<Principal | PolicyError> {
    const located = checkCredentialLocation(req, options.transport);
    if (located) return located;
    const bearer = readBearer(req);
    if (isPolicyError(bearer)) return bearer;
    if (bearer.kind === "api_key") {
      const raw = bearer.token;
      const env = checkApiKey(raw);
      if (env !== "live" && env !== "test") {
        return policyError("invalid_api_key", "The API key is malformed or its checksum does not match.", undefined, INVALID_TOKEN_CHALLENGE);
      }
      const cached = keyCache.peek(raw);
      if (cached !== undefined) return keyPrincipal(cached, env);
      return keyCache.lookup(raw).then(
        (record) => keyPrincipal(record, env),
        (e: unknown) => unavailable(e, "lookup", "API keys cannot be verified right now; retry shortly."),
      );
    }
    if (bearer.kind === "jwt") {
      if (!options.oauth) return policyError("invalid_token", "OAuth access tokens are not accepted here.", undefined, INVALID_TOKEN_CHALLENGE);
      return options.oauth.verify(bearer.token);
    }
    return policyError("invalid_token", "The credential is neither an API key nor an OAuth access token.", undefined, INVALID_TOKEN_CHALLENGE);
  }

  // Cached per record object (the verified-key cache hands out the same frozen record until it
  // reloads it): no principal is rebuilt on the hot path.
  const principals = new WeakMap<ApiKeyRecord, ApiKeyPrincipal>();

  function keyPrincipal(record: ApiKeyRecord | null, env: Environment): Principal | PolicyError {
    if (!record || record.environment !== env) {
      return policyError("invalid_api_key", "The API key is not valid.", undefined, INVALID_TOKEN_CHALLENGE);
    }
    if (record.revoked_at !== null) {
      return policyError("api_key_revoked", "The API key has been revoked.", undefined, INVALID_TOKEN_CHALLENGE);
    }
    if (record.expires_at !== null && Date.parse(record.expires_at) <= clock.now()) {
      return policyError("api_key_expired", "The API key has expired.", undefined, INVALID_TOKEN_CHALLENGE);
    }
    let principal = principals.get(record);
    if (principal) return principal;
    principal = Object.freeze({
      user_id: record.user_id,
      tenant_id: record.tenant_id,
      auth_method: "api_key",
      email: record.email,
      api_key_id: record.id,
      api_key_name: record.name,
      api_key_prefix: record.prefix,
      environment: record.environment,
      rate_limit_tier: record.rate_limit_tier,
      scopes: record.scopes,
    } as const);
    principals.set(record, principal);
    return principal;
  }

  /** A bucket's limits and its result, for the RateLimit headers. */
  interface BucketPart {
    readonly limits: BucketLimits;
    readonly result: BucketResult;
  }

  /** A principal's bucket; for a key, also when its `last_used_at` may be written again. */
  interface KeySlot {
    readonly ref: BucketRef;
    readonly limits: BucketLimits;
    touchAfter: number;
  }
  const keyBuckets = new WeakMap<Principal, KeySlot>();
  function bucketOf(p: Principal): { readonly ref: BucketRef; readonly limits: BucketLimits } {
    if (p.auth_method === "api_key") return keySlot(p);
    return { ref: { tenantId: p.tenant_id, id: `oauth:${p.client_id.length}:${p.client_id}:${p.user_id}` }, limits: tiers[tierOf(p)] };
  }
  function tierOf(p: Principal): RateLimitTier {
    if (p.auth_method === "api_key") return p.rate_limit_tier;
    return typeof oauthTier === "string" ? oauthTier : (oauthTier[p.client_id] ?? "standard");
  }
  /** The tenant-wide bucket of this principal's request, when the policy has one. */
  function tenantBucketOf(p: Principal): BucketDemand | undefined {
    const l = tenantLimits!(p.tenant_id, tierOf(p));
    return l ? { ref: { tenantId: p.tenant_id, id: TENANT_BUCKET_ID }, limits: l } : undefined;
  }
  function keySlot(p: ApiKeyPrincipal): KeySlot {
    let b = keyBuckets.get(p);
    if (!b) {
      b = { ref: { tenantId: p.tenant_id, id: `key:${p.api_key_id}` }, limits: tiers[p.rate_limit_tier], touchAfter: -Infinity };
      keyBuckets.set(p, b);
    }
    return b;
  }

  async function decide(req: PolicyRequest, capability: Capability): Promise<Decision> {
    // Each store call answers its own failure (503 `service_unavailable` when it fails closed);
    // anything else thrown (a bug, a grant function) answers 500 `internal_error`, here rather
    // than through a `.catch` on every decision.
    try {
      let principal = authenticate(req);
      if (principal instanceof Promise) principal = await principal;
      if (isPolicyError(principal)) return reject(principal);

      let slot: KeySlot | undefined;
      if (principal.auth_method === "api_key") {
        slot = keySlot(principal);
        if (touchKey) touch(principal, slot);
      }
      const { ref, limits } = slot ?? bucketOf(principal);
      const tenant = tenantLimits ? tenantBucketOf(principal) : undefined;
      const grant = credits ? grantOf(principal.tenant_id) : 0;
      if (principal.auth_method === "api_key" && principal.environment === "live" && environment === "test") {
        return reject(
          policyError("environment_mismatch", "Live keys cannot be used against a test deployment; use an ak_test_ key.", { environment }, BARE_CHALLENGE),
          await peekHeaders(ref, limits, grant, tenant),
        );
      }
      if (capability.scopes.length > 0) {
        const missing = missingScopes(principal.scopes, capability.scopes);
        if (missing.length > 0) {
          return reject(insufficientScope(principal.auth_method, capability.scopes, missing), await peekHeaders(ref, limits, grant, tenant));
        }
      }
      const tooCostly = costExceedsCapacity(capability.cost, limits, tenant);
      if (tooCostly) return reject(tooCostly, await peekHeaders(ref, limits, grant, tenant));

      // The Idempotency-Key is read here but judged after the bucket, as the contract orders it.
      let keyError: PolicyError | null = null;
      let idemRef: IdempotencyRef | null = null;
      let fingerprint = "";
      if (idemMethods.has(req.method)) {
        const values = headerValues(req.headers, "idempotency-key");
        if (values.length === 0) {
          if (capability.requireIdempotencyKey) {
            keyError = policyError("idempotency_key_required", `${capability.id} requires an Idempotency-Key header.`);
          }
        } else {
          const parsed = parseIdempotencyKey(values);
          if (isPolicyError(parsed)) keyError = parsed;
          else {
            const env = principal.auth_method === "api_key" ? principal.environment : environment;
            idemRef = { tenantId: principal.tenant_id, scope: `${principal.user_id}:${env}`, key: parsed.key };
            fingerprint = requestFingerprint(req.method, req.path, req.body, req.rawBody);
          }
        }
      }

      // A request refused for its Idempotency-Key is not charged: it only reads the balance.
      const charge = credits && !keyError ? { capability: capability.id, credits: capability.credits, grant } : undefined;
      let admitted: AdmissionResult;
      try {
        const request: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = { bucket: ref, cost: capability.cost, limits };
        if (tenant) request.tenant = tenant;
        if (idemRef) request.claim = { ref: idemRef, fingerprint, leaseMs };
        if (charge) request.charge = charge;
        admitted = await admission.admit(request);
      } catch (e) {
        // The bucket (or credits configured to fail closed) could not decide: nothing was taken.
        return reject(unavailable(e, "admit", "The rate limiter is unavailable; retry shortly."));
      }
      const bucket = admitted.bucket;
      const credited = admitted.credits;
      let balance: number | undefined;
      if (credited) {
        if (credited.outcome === "unavailable") onStoreError(credited.error, "charge"); // metering fails open: not charged
        else balance = credited.balance;
      } else if (credits && keyError) balance = await balanceOf(principal.tenant_id, grant);
      const shared = tenant && admitted.tenant ? { limits: tenant.limits, result: admitted.tenant } : undefined;
      const headers = rateHeaders(limits, bucket, grant, balance, shared);
      if (!bucket.allowed) return reject(rateLimited(capability, { limits, result: bucket }, shared), headers);
      if (keyError) return reject(keyError, headers);
      if (credited?.outcome === "insufficient") {
        return reject(
          policyError(
            "insufficient_credits",
            `This operation costs ${capability.credits} credit${capability.credits === 1 ? "" : "s"} and the balance is ${credited.balance}.`,
            { balance: credited.balance, required: capability.credits },
          ),
          headers,
        );
      }
      const reservation = credited?.outcome === "charged" && credited.credits > 0 ? { credits: credited.credits, hour: credited.hour, grant } : null;
      if (!idemRef) return proceed(principal, capability, headers, null, "", reservation);
      return await settleClaim(admitted.claim, principal, capability, headers, idemRef, reservation);
    } catch (e) {
      return failed(e);
    }
  }

  /** 429 `cost_exceeds_capacity` when a bucket (the credential's or the tenant's) can never hold `cost`. */
  function costExceedsCapacity(cost: number, limits: BucketLimits, tenant: BucketDemand | undefined): PolicyError | null {
    const capacity = tenant ? Math.min(limits.capacity, tenant.limits.capacity) : limits.capacity;
    if (cost <= capacity) return null;
    const whose = capacity === limits.capacity ? "your bucket" : "your tenant's shared bucket";
    return policyError("cost_exceeds_capacity", `This operation costs ${cost} tokens, more than ${whose} can hold (${capacity}).`, { cost, limit: capacity });
  }

  /** 503 `service_unavailable` for a store that failed closed, with `Retry-After`. */
  function unavailable(e: unknown, operation: StoreOperation, detail: string): PolicyError {
    onStoreError(e, operation);
    return policyError("service_unavailable", detail, undefined, { "retry-after": UNAVAILABLE_RETRY_AFTER });
  }

  /**
   * 429 `rate_limited`, with the cost, remaining and limit of the bucket that refused (the one
   * that needs longest to hold the cost) and a `Retry-After` until both buckets hold it.
   */
  function rateLimited(capability: Capability, own: BucketPart, shared: BucketPart | undefined): PolicyError {
    const by = shared && shared.result.retryAfterMs > own.result.retryAfterMs ? shared : own;
    const retry = retryAfterOf(shared ? [own.result, shared.result] : [own.result]);
    const tokens = `token${capability.cost === 1 ? "" : "s"}`;
    const where = by === own ? "" : " in your tenant's shared bucket";
    return policyError(
      "rate_limited",
      `Rate limit exceeded: this request costs ${capability.cost} ${tokens} and ${by.result.remaining} remain${where}. Retry after ${retry} second${retry === 1 ? "" : "s"}.`,
      { cost: capability.cost, remaining: by.result.remaining, limit: by.limits.capacity },
      { "retry-after": String(retry) },
    );
  }

  /** Gives back what a request was charged, once (a 5xx, a throw, or a refusal after the charge). */
  async function refund(principal: Principal, capability: Capability, reservation: Reservation): Promise<void> {
    try {
      await credits!.refund({ tenantId: principal.tenant_id, capability: capability.id, credits: reservation.credits, hour: reservation.hour, grant: reservation.grant });
    } catch (e) {
      onStoreError(e, "refund");
    }
  }

  async function settleClaim(
    claim: AdmissionClaim | undefined,
    principal: Principal,
    capability: Capability,
    headers: Record<string, string>,
    ref: IdempotencyRef,
    reservation: Reservation | null,
  ): Promise<Decision> {
    if (!claim || claim.outcome === "unavailable") {
      if (claim) onStoreError(claim.error, "admit");
      if (failure === "open") return proceed(principal, capability, headers, null, "", reservation);
      if (reservation) await refund(principal, capability, reservation);
      return reject(policyError("idempotency_unavailable", "Idempotency keys cannot be checked right now; retry shortly.", undefined, { "retry-after": "1" }), headers);
    }
    switch (claim.outcome) {
      case "claimed":
        return proceed(principal, capability, headers, ref, claim.token, reservation);
      case "in_flight":
        return reject(
          policyError("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry shortly.", undefined, { "retry-after": "1" }),
          headers,
        );
      case "mismatch":
        return reject(
          policyError("idempotency_key_reused", "This Idempotency-Key was used with a different request (method, path or body); use a new key."),
          headers,
        );
      case "completed": {
        const r = claim.response;
        return {
          kind: "replay",
          response: { status: r.status, headers: { ...r.headers, ...headers, "idempotent-replayed": "true" }, body: r.body },
        };
      }
    }
  }

  function proceed(
    principal: Principal,
    capability: Capability,
    headers: Record<string, string>,
    ref: IdempotencyRef | null,
    token: string,
    reservation: Reservation | null,
  ): ContinueDecision {
    if (!ref && !reservation) return { kind: "continue", principal, capability, headers, capture: false, settle: false, commit: NOOP, abort: NOOP };
    if (!ref) {
      // Credits only (the metered hot path): below 500 keeps them; a 5xx or a throw refunds them. Once.
      let done = false;
      const refundOnce = (): Promise<void> => {
        if (done) return RESOLVED;
        done = true;
        return refund(principal, capability, reservation!);
      };
      return {
        kind: "continue",
        principal,
        capability,
        headers,
        capture: false,
        settle: true,
        commit: (response) => (response.status >= 500 ? refundOnce() : ((done = true), RESOLVED)),
        abort: refundOnce,
      };
    }
    let settled = false;
    const release = async () => {
      if (!ref) return;
      try {
        await idempotency.release(ref, token);
      } catch (e) {
        onStoreError(e, "release"); // the lease will expire and free the key
      }
    };
    // A failure gives the key back (so that a retry runs) and the credits (never more than charged).
    const failed = () => Promise.all([release(), reservation ? refund(principal, capability, reservation) : undefined]).then(NOOP);
    return {
      kind: "continue",
      principal,
      capability,
      headers,
      capture: ref !== null,
      settle: true,
      async commit(response, commitOptions) {
        if (settled) return;
        settled = true;
        if (response.status >= 500) return failed();
        if (!ref) return;
        if (commitOptions?.store === false) return release(); // the credits stay: the handler answered
        try {
          const body = capability.omitFromReplay.length ? omitMembers(response.body, capability.omitFromReplay) : response.body;
          await idempotency.complete(ref, token, toStoredResponse(response.status, response.headers, body, replayHeaders), { ttlMs });
        } catch (e) {
          onStoreError(e, "complete");
          await release();
        }
      },
      async abort() {
        if (settled) return;
        settled = true;
        await failed();
      },
    };
  }

  function failed(e: unknown): Decision {
    onStoreError(e, "admit");
    return reject(policyError("internal_error", "The server failed to complete the request."));
  }
  return {
    decide,
    reject,
    environment,
    keyCache,
    credits,
    usage: async (tenantId, o) => {
      if (!credits) throw new TypeError("policy.usage: metering is off (`credits: false`)");
      const read = { grant: grantOf(tenantId), clock, ...(o?.hours === undefined ? {} : { hours: o.hours }) };
      try {
        return await readUsage(credits, tenantId, read);
      } catch (e) {
        if (e instanceof TypeError) throw e; // a bad argument is the caller's bug: 500
        const { code, detail, headers } = unavailable(e, "usage", "Usage cannot be read right now; retry shortly.");
        throw new ProblemError(code, detail, undefined, headers);
      }
    },
    checkCredentialLocation: (req) => checkCredentialLocation(req, options.transport),
  };
}

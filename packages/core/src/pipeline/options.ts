import { DEFAULT_TIER_LIMITS, MemoryBucketStore, checkLimits, tierLimits, type BucketLimits, type BucketStore, type TierLimits } from "../buckets";
import type { HttpMethod } from "../capabilities";
import { systemClock, type Clock } from "../clock";
import { DEFAULT_CREDIT_GRANT, MemoryCreditStore, type CreditStore } from "../credits";
import { createVerifiedKeyCache, type KeyStore, type OAuthVerifier, type RateLimitTier, type TransportOptions, type VerifiedKeyCache } from "../credentials";
import { assertTransportOptions } from "../credentials/transport";
import { DEFAULT_REPLAY_HEADERS, IDEMPOTENCY_TTL_MS, MemoryIdempotencyStore, type IdempotencyStore } from "../idempotency";
import type { Environment, KeyHasher } from "../keys";
import type { ProblemOptions } from "../problems";
import { composeAdmission, type Admission } from "./admission";
import { deferred, type DecisionEvent, type SettleEvent } from "./events";

/**
 * Where the policy's records live, as one object: `createRedisStores(...)` (or another store
 * package's factory) returns it whole. A store left out is kept in this process's memory.
 * @example createPolicy({ environment: "live", keyHasher, stores: createRedisStores({ client }) })
 */
export interface PolicyStores {
  /** API key records, looked up by digest. */
  readonly keys: KeyStore;
  /** Token buckets. @default new MemoryBucketStore() */
  readonly buckets?: BucketStore;
  /** Idempotency records. @default new MemoryIdempotencyStore() */
  readonly idempotency?: IdempotencyStore;
  /** Tenants' credit balances and hourly usage. @default admission?.credits ?? new MemoryCreditStore() */
  readonly credits?: CreditStore;
  /**
   * Bucket, claim and charge in one step (one Redis round trip). It must charge `credits`
   * (`admission.credits === credits`) when both are given.
   * @default composeAdmission(buckets, idempotency, credits)
   */
  readonly admission?: Admission;
}

/** Options of `createPolicy`. Checked when it is called; a bad option throws naming it. */
export interface PolicyOptions {
  /** The deployment's environment: a `test` deployment refuses live keys. */
  readonly environment: Environment;
  /** Digests raw keys for store lookups (`createKeyHasher`). */
  readonly keyHasher: KeyHasher;
  /** Where keys, buckets, idempotency records and credits live. */
  readonly stores: PolicyStores;
  /** The verified-key cache; give one to share it with an invalidation feed. @default a 1 s TTL cache */
  readonly keyCache?: VerifiedKeyCache;
  /** Verifies OAuth access tokens; without it every JWT is `invalid_token`. */
  readonly oauth?: OAuthVerifier;
  /**
   * Meter calls in credits: charge each admitted call its capability's price from the tenant's
   * balance (402 `insufficient_credits` when short), refund it on a 5xx, and report the balance
   * as the `credits` RateLimit policy. @default true
   */
  readonly metering?: boolean;
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
   * A tenant-wide bucket shared by all of a tenant's credentials, taken together with the
   * credential's bucket, all or nothing, in the same atomic step (one Redis round trip); the
   * headers carry it as the `"tenant"` policy. Its limits: one for every tenant, per tier of the
   * calling credential (a tier left out has none), or a function of the tenant (`undefined`:
   * none). Needs `stores.buckets.consumeAll` (or an admission with `tenantBuckets`).
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
  /**
   * Told of every decision (`DecisionEvent`: outcome, code, capability, tenant, credential prefix,
   * cost, tokens left, credits, stores that failed open, the policy's own duration), after the
   * answer: a slow listener never delays it, one that throws never changes it. Without it nothing
   * is measured. @default none
   * @example createPolicy({ ...options, onDecision: (e) => { if (e.outcome === "refused") refusals.inc({ code: e.code }); } })
   */
  readonly onDecision?: (event: DecisionEvent) => void;
  /** Told of every settlement of an admitted request (`SettleEvent`: kept, refunded, released), as `onDecision`. @default none */
  readonly onSettle?: (event: SettleEvent) => void;
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

/** The stores a policy runs on, every default filled in. */
export interface ResolvedStores {
  readonly keys: KeyStore;
  readonly buckets: BucketStore;
  readonly idempotency: IdempotencyStore;
  /** Undefined with `metering: false`. */
  readonly credits: CreditStore | undefined;
  readonly admission: Admission;
}

/** `PolicyOptions` checked, with every default filled in: what the pipeline's steps read. */
export interface PolicyConfig {
  readonly environment: Environment;
  readonly keyHasher: KeyHasher;
  readonly stores: ResolvedStores;
  readonly keyCache: VerifiedKeyCache;
  readonly oauth: OAuthVerifier | undefined;
  readonly grantOf: (tenantId: string) => number;
  readonly lastUsedMs: number;
  readonly tiers: TierLimits;
  readonly tenantLimits: ((tenantId: string, tier: RateLimitTier) => BucketLimits | undefined) | undefined;
  readonly oauthTier: RateLimitTier | Readonly<Record<string, RateLimitTier>>;
  readonly idempotencyMethods: ReadonlySet<string>;
  readonly leaseMs: number;
  readonly ttlMs: number;
  readonly idempotencyFailure: "closed" | "open";
  readonly replayHeaders: readonly string[];
  readonly problemOptions: ProblemOptions | undefined;
  readonly transport: TransportOptions | undefined;
  readonly onStoreError: (error: unknown, operation: StoreOperation) => void;
  /** `onDecision` and `onSettle`, deferred past the answer (undefined without a listener). */
  readonly onDecision: ((event: DecisionEvent) => void) | undefined;
  readonly onSettle: ((event: SettleEvent) => void) | undefined;
  readonly clock: Clock;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const TIERS = new Set(["free", "standard", "pro", "enterprise"]);
const LIMITS_SHAPE = "limits ({ capacity, refillPerSecond }), limits per tier, or a function of the tenant id";

function isStore(v: unknown, methods: readonly string[]): boolean {
  return !!v && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function");
}

function positiveMs(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`createPolicy: \`${name}\` must be a positive number of milliseconds`);
  return v;
}

/**
 * The `tenantBucket` option as a function of (tenant, tier), checked now: a bad value throws
 * naming the option. A function's answers are checked when it answers (a bad one is a bug: 500).
 */
function tenantLimitsOf(option: TenantBucketOption | undefined): PolicyConfig["tenantLimits"] {
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

/** `onStoreError`, told in the request's path (its tests count on it), but a listener that throws changes no answer. */
function guarded(f: ((error: unknown, operation: StoreOperation) => void) | undefined): (error: unknown, operation: StoreOperation) => void {
  if (!f) return () => {};
  return (error, operation) => {
    try {
      f(error, operation);
    } catch {
      // The listener's failure is its own: the store's failure is answered as without it.
    }
  };
}

function listener<F>(name: string, f: F | undefined): F | undefined {
  if (f !== undefined && typeof f !== "function") throw new TypeError(`createPolicy: \`${name}\` must be a function`);
  return f;
}

/** The stores, checked, with memory stores where one is left out. */
function resolveStores(stores: PolicyStores | undefined, metering: boolean, tenantBuckets: boolean, clock: Clock): ResolvedStores {
  if (!stores || typeof stores !== "object") throw new TypeError("createPolicy: `stores` must be an object with at least `keys` (a KeyStore)");
  if (!isStore(stores.keys, ["findByDigest"])) throw new TypeError("createPolicy: `stores.keys` must be a KeyStore");
  if (stores.buckets !== undefined && !isStore(stores.buckets, ["consume"])) throw new TypeError("createPolicy: `stores.buckets` must be a BucketStore");
  if (stores.idempotency !== undefined && !isStore(stores.idempotency, ["claim", "complete", "release", "read"])) {
    throw new TypeError("createPolicy: `stores.idempotency` must be an IdempotencyStore");
  }
  if (stores.credits !== undefined && !isStore(stores.credits, ["charge", "refund", "balance", "usage"])) throw new TypeError("createPolicy: `stores.credits` must be a CreditStore");
  const given = stores.admission;
  if (given !== undefined && !isStore(given, ["admit"])) throw new TypeError("createPolicy: `stores.admission` must be an Admission");
  // An admission claims and takes tokens in its own stores: settling and the refusals' RateLimit
  // headers must read the same ones, so they are given beside it (createRedisStores does).
  if (given && (!stores.buckets || !stores.idempotency)) {
    throw new TypeError("createPolicy: `stores.admission` needs the `stores.buckets` and `stores.idempotency` it admits in, beside it");
  }
  if (given && metering && !given.credits) throw new TypeError("createPolicy: `stores.admission` charges no credit store; build it with one, or set `metering: false`");
  if (given?.credits && stores.credits && given.credits !== stores.credits) {
    throw new TypeError("createPolicy: `stores.admission` must charge `stores.credits` (`admission.credits === credits`)");
  }
  const buckets = stores.buckets ?? new MemoryBucketStore({ clock });
  const idempotency = stores.idempotency ?? new MemoryIdempotencyStore({ clock });
  const credits = metering ? (stores.credits ?? given?.credits ?? new MemoryCreditStore({ clock })) : undefined;
  if (tenantBuckets && given && given.tenantBuckets !== true) {
    throw new TypeError("createPolicy: `tenantBucket` needs a `stores.admission` that takes tenant buckets (`tenantBuckets: true`, as RedisAdmission and composeAdmission over a store with consumeAll)");
  }
  if (tenantBuckets && !given && typeof buckets.consumeAll !== "function") {
    throw new TypeError("createPolicy: `tenantBucket` needs `stores.buckets` with consumeAll (one atomic step for both buckets)");
  }
  const admission = given ?? composeAdmission(buckets, idempotency, credits);
  return { keys: stores.keys, buckets, idempotency, credits, admission };
}

/**
 * Checks `createPolicy`'s options and fills in the defaults; a bad option throws a TypeError
 * naming it.
 */
export function resolveOptions(options: PolicyOptions): PolicyConfig {
  if (!options || (options.environment !== "live" && options.environment !== "test")) {
    throw new TypeError('createPolicy: `environment` must be "live" or "test"');
  }
  if (!isStore(options.keyHasher, ["digest", "candidates"])) throw new TypeError("createPolicy: `keyHasher` must come from createKeyHasher");
  if (options.oauth !== undefined && !isStore(options.oauth, ["verify"])) throw new TypeError("createPolicy: `oauth` must come from createOAuthVerifier");
  if (options.metering !== undefined && typeof options.metering !== "boolean") throw new TypeError("createPolicy: `metering` must be true or false");
  const idempotencyFailure = options.idempotencyFailure ?? "closed";
  if (idempotencyFailure !== "closed" && idempotencyFailure !== "open") throw new TypeError('createPolicy: `idempotencyFailure` must be "closed" or "open"');
  assertTransportOptions(options.transport);
  const oauthTier = options.oauthTier ?? "standard";
  if (typeof oauthTier === "string" ? !TIERS.has(oauthTier) : Object.values(oauthTier).some((t) => !TIERS.has(t))) {
    throw new TypeError("createPolicy: `oauthTier` must name free, standard, pro or enterprise");
  }
  const idempotencyMethods = new Set<string>(options.idempotencyMethods ?? ["POST", "PATCH"]);
  for (const m of idempotencyMethods) {
    if (SAFE_METHODS.has(m)) throw new TypeError(`createPolicy: \`idempotencyMethods\` cannot include ${m}`);
  }
  const clock = options.clock ?? systemClock;
  const tenantLimits = tenantLimitsOf(options.tenantBucket);
  const stores = resolveStores(options.stores, options.metering !== false, tenantLimits !== undefined, clock);
  const grantOption = options.creditGrant ?? DEFAULT_CREDIT_GRANT;
  const validGrant = (g: unknown): g is number => typeof g === "number" && Number.isSafeInteger(g) && g >= 0;
  if (typeof grantOption !== "function" && !validGrant(grantOption)) throw new TypeError("createPolicy: `creditGrant` must be an integer >= 0 or a function of the tenant id");
  const grantOf =
    typeof grantOption === "function"
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
  const typeBase = options.problemTypeBase;
  return {
    environment: options.environment,
    keyHasher: options.keyHasher,
    stores,
    keyCache: options.keyCache ?? createVerifiedKeyCache({ store: stores.keys, hasher: options.keyHasher, clock }),
    oauth: options.oauth,
    grantOf,
    lastUsedMs,
    tiers: options.tiers ? tierLimits(options.tiers) : DEFAULT_TIER_LIMITS,
    tenantLimits,
    oauthTier,
    idempotencyMethods,
    leaseMs: positiveMs("idempotencyLeaseMs", options.idempotencyLeaseMs, 60_000),
    ttlMs: positiveMs("idempotencyTtlMs", options.idempotencyTtlMs, IDEMPOTENCY_TTL_MS),
    idempotencyFailure,
    replayHeaders: (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((h) => h.toLowerCase()),
    problemOptions: typeBase === undefined ? undefined : { typeBase },
    transport: options.transport,
    onStoreError: guarded(listener("onStoreError", options.onStoreError)),
    onDecision: deferred(listener("onDecision", options.onDecision)),
    onSettle: deferred(listener("onSettle", options.onSettle)),
    clock,
  };
}

import type { BucketLimits, BucketResult } from "./store";

/** The window of a bucket in seconds: how long an empty bucket takes to fill. */
export function windowSeconds(limits: BucketLimits): number {
  return Math.max(1, Math.ceil(limits.capacity / limits.refillPerSecond));
}

/** `RateLimit-Policy: "tokens";q=600;w=60` (IETF draft, structured-field form). */
export function rateLimitPolicyHeader(limits: BucketLimits, name = "tokens"): string {
  return `"${name}";q=${limits.capacity};w=${windowSeconds(limits)}`;
}

/**
 * `RateLimit: "tokens";r=587;t=1`: whole tokens left, and whole seconds (rounded up) until the
 * next whole token (draft-ietf-httpapi-ratelimit-headers-10's `t`); 0 when the bucket is full.
 */
export function rateLimitHeader(result: BucketResult, name = "tokens"): string {
  return `"${name}";r=${result.remaining};t=${Math.ceil(result.nextTokenMs / 1000)}`;
}

/**
 * `Retry-After` of a refused step: the seconds until every bucket holds the cost (the largest
 * `retryAfterMs`), never earlier than the `t` of the bucket that refused. At least 1.
 */
export function retryAfterOf(results: readonly BucketResult[]): number {
  let ms = 0;
  for (const r of results) if (r.retryAfterMs > ms) ms = r.retryAfterMs;
  return retryAfterSeconds(ms);
}

/** `Retry-After` in whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** `"credits";q=100000`: the credits policy of the RateLimit-Policy header (no window). */
export function creditsPolicyMember(grant: number): string {
  return `"credits";q=${grant}`;
}

/** `"credits";r=99987`: the balance, as a member of the RateLimit header. */
export function creditsMember(balance: number): string {
  return `"credits";r=${balance}`;
}

/** The id of the tenant-wide bucket in the headers and in the stores (credential buckets are `key:…` or `oauth:…`). */
export const TENANT_BUCKET_ID = "tenant";

/** The RateLimit pair of a response. */
export type RateLimitHeaders = Readonly<Record<"ratelimit-policy" | "ratelimit", string>>;

/**
 * Builds the RateLimit pair: the credential's bucket, the tenant's (when there is one), then,
 * when the balance is known, the `credits` policy. The policy strings are cached per limits
 * object (tiers are frozen and few), so the hot path builds only the `RateLimit` value.
 * @example
 * const rateHeaders = createRateHeaders();
 * rateHeaders(tiers.standard, result, 100_000, 99_987);
 */
export function createRateHeaders(): (limits: BucketLimits, result: BucketResult, grant: number, balance?: number, tenant?: { readonly limits: BucketLimits; readonly result: BucketResult }) => RateLimitHeaders {
  // Per limits: its RateLimit-Policy, and the same with the `credits` policy of the last grant seen.
  const policies = new WeakMap<BucketLimits, { readonly tokens: string; grant: number; withCredits: string }>();
  const tenantPolicies = new WeakMap<BucketLimits, string>();
  return (limits, result, grant, balance, tenant) => {
    let p = policies.get(limits);
    if (p === undefined) policies.set(limits, (p = { tokens: rateLimitPolicyHeader(limits), grant: -1, withCredits: "" }));
    if (tenant) {
      let shared = tenantPolicies.get(tenant.limits);
      if (shared === undefined) tenantPolicies.set(tenant.limits, (shared = rateLimitPolicyHeader(tenant.limits, TENANT_BUCKET_ID)));
      const policy = `${p.tokens}, ${shared}`;
      const rate = `${rateLimitHeader(result)}, ${rateLimitHeader(tenant.result, TENANT_BUCKET_ID)}`;
      if (balance === undefined) return { "ratelimit-policy": policy, ratelimit: rate };
      return { "ratelimit-policy": `${policy}, ${creditsPolicyMember(grant)}`, ratelimit: `${rate}, ${creditsMember(balance)}` };
    }
    if (balance === undefined) return { "ratelimit-policy": p.tokens, ratelimit: rateLimitHeader(result) };
    if (p.grant !== grant) {
      p.grant = grant;
      p.withCredits = `${p.tokens}, ${creditsPolicyMember(grant)}`;
    }
    return { "ratelimit-policy": p.withCredits, ratelimit: `${rateLimitHeader(result)}, ${creditsMember(balance)}` };
  };
}

import type { ApiKeyPrincipal, Principal, RateLimitTier } from "../credentials/principal";
import { TENANT_BUCKET_ID } from "./headers";
import type { BucketDemand, BucketLimits, BucketRef } from "./store";
import type { TierLimits } from "./tiers";

/** The buckets one request of a principal takes its cost from. */
export interface BucketPlan {
  /** The credential's bucket: `key:<id>` for an API key, `oauth:<len>:<client>:<user>` for a token. */
  readonly ref: BucketRef;
  readonly limits: BucketLimits;
  /** The tenant-wide bucket, when the policy has one for this tenant and tier. */
  readonly tenant: BucketDemand | undefined;
  /** The tier that sized them. */
  readonly tier: RateLimitTier;
}

/** What `createBucketPlanner` needs: sizes per tier, the OAuth clients' tier, the tenant bucket's limits. */
export interface BucketPlannerOptions {
  readonly tiers: TierLimits;
  readonly oauthTier: RateLimitTier | Readonly<Record<string, RateLimitTier>>;
  readonly tenantLimits: ((tenantId: string, tier: RateLimitTier) => BucketLimits | undefined) | undefined;
}

/**
 * A principal's buckets: one per API key, one per OAuth client and user (the client id's length
 * keeps `a:b`+`c` apart from `a`+`b:c`), sized by tier; with the tenant's shared bucket when the
 * policy has one. A key's own bucket is worked out once per principal object.
 */
export function createBucketPlanner(options: BucketPlannerOptions): (principal: Principal) => BucketPlan {
  const { tiers, oauthTier, tenantLimits } = options;
  const keyBuckets = new WeakMap<ApiKeyPrincipal, BucketPlan>();
  const tierOf = (p: Principal): RateLimitTier =>
    p.auth_method === "api_key" ? p.rate_limit_tier : typeof oauthTier === "string" ? oauthTier : (oauthTier[p.client_id] ?? "standard");
  const own = (p: Principal): BucketPlan => {
    if (p.auth_method !== "api_key") {
      const tier = tierOf(p);
      return { ref: { tenantId: p.tenant_id, id: `oauth:${p.client_id.length}:${p.client_id}:${p.user_id}` }, limits: tiers[tier], tenant: undefined, tier };
    }
    let b = keyBuckets.get(p);
    if (!b) keyBuckets.set(p, (b = { ref: { tenantId: p.tenant_id, id: `key:${p.api_key_id}` }, limits: tiers[p.rate_limit_tier], tenant: undefined, tier: p.rate_limit_tier }));
    return b;
  };
  if (!tenantLimits) return (p) => own(p); // no tenant bucket: a key's plan is one object per principal
  return (p) => {
    const { ref, limits, tier } = own(p);
    const shared = tenantLimits(p.tenant_id, tier);
    return { ref, limits, tenant: shared ? { ref: { tenantId: p.tenant_id, id: TENANT_BUCKET_ID }, limits: shared } : undefined, tier };
  };
}

import type { BucketDemand, BucketLimits, BucketRef, BucketResult, BucketStore } from "../buckets";
import type { ChargeResult, CreditCharge, CreditStore } from "../credits";
import type { ClaimResult, IdempotencyRef, IdempotencyStore } from "../idempotency";

/** What the pipeline asks of the stores before the handler runs. */
export interface AdmissionRequest {
  readonly bucket: BucketRef;
  readonly cost: number;
  readonly limits: BucketLimits;
  /**
   * The tenant-wide bucket shared by all of a tenant's credentials, when the policy has one: `cost` is taken from it
   * and from `bucket` together or from neither, in the same atomic step.
   */
  readonly tenant?: BucketDemand;
  /** Present when the request carries an Idempotency-Key: claimed only if the bucket allowed it. */
  readonly claim?: { readonly ref: IdempotencyRef; readonly fingerprint: string; readonly leaseMs: number };
  /**
   * Present when calls are metered: the price in credits of the bucket's tenant. Charged only when
   * the bucket allowed the call and the claim (if any) was claimed; a replay is counted as a call
   * at 0 credits; a short balance releases the claim it just made.
   */
  readonly charge?: {
    readonly capability: string;
    readonly credits: number;
    readonly grant: number;
    /** The charge's unique id (`CreditCharge.reservation`), made by the pipeline; a refund names it. */
    readonly reservation?: string;
  };
}

/** The claim part of an admission: a store answer, or `unavailable` when its store failed. */
export type AdmissionClaim = ClaimResult | { readonly outcome: "unavailable"; readonly error: unknown };

/** The credit part of an admission. */
export type AdmissionCredits =
  /** Charged (`credits` may be 0, as for a replay): refund `credits` from `hour` on a 5xx or a throw. */
  | { readonly outcome: "charged"; readonly balance: number; readonly credits: number; readonly hour: number }
  /** The balance is short: nothing charged, and the claim (if one was made) released. */
  | { readonly outcome: "insufficient"; readonly balance: number }
  /** Not charged (the bucket refused, or the claim was in flight or mismatched): the balance only. */
  | { readonly outcome: "balance"; readonly balance: number }
  /** The credit store failed; nothing is known of the balance. */
  | { readonly outcome: "unavailable"; readonly error: unknown };

/**
 * The answer: the bucket decision, the claim when one was asked for, the credits when metered.
 * `bucket.allowed` is the step's decision; with a tenant bucket, `tenant` is its result (same
 * `allowed`), and the bucket whose `retryAfterMs` is larger is the one that refused.
 */
export interface AdmissionResult {
  readonly bucket: BucketResult;
  readonly tenant?: BucketResult;
  readonly claim?: AdmissionClaim;
  readonly credits?: AdmissionCredits;
}

/**
 * The bucket decision, the idempotency claim and the credit charge, in this order. A store that
 * can do all at once (one Redis script, one round trip) implements this directly;
 * `composeAdmission` runs them one after the other. Throws only when the bucket decision itself
 * cannot be made.
 */
export interface Admission {
  /** The answer, or a promise of it (a store over the network always answers a promise). */
  admit(request: AdmissionRequest): AdmissionResult | Promise<AdmissionResult>;
  /** The credit store `charge` parts go to: the policy reads balances and refunds through it. */
  readonly credits?: CreditStore;
  /** True when `admit` honours `tenant` (atomically with `bucket`); a policy with a tenant bucket needs it. */
  readonly tenantBuckets?: boolean;
}

const bucketOnly = (bucket: BucketResult): AdmissionResult => ({ bucket });
const bothBuckets = ([bucket, tenant]: BucketResult[]): { bucket: BucketResult; tenant: BucketResult } => ({ bucket: bucket!, tenant: tenant! });

/** The credential's bucket and the tenant's, taken together (all or nothing). */
const bothDemands = (request: AdmissionRequest, tenant: BucketDemand): BucketDemand[] => [{ ref: request.bucket, limits: request.limits }, tenant];

/** A charge's answer as the credit part of an admission. */
const creditsOf = (charged: ChargeResult): AdmissionCredits =>
  charged.allowed ? { outcome: "charged", balance: charged.balance, credits: charged.charged, hour: charged.hour } : { outcome: "insufficient", balance: charged.balance };

/** The credit store's charge for an admission's `charge` part, at `credits` (0 for a replay). */
function chargeOf(tenantId: string, charge: NonNullable<AdmissionRequest["charge"]>, credits: number): CreditCharge {
  const c = { tenantId, capability: charge.capability, credits, grant: charge.grant };
  return charge.reservation === undefined ? c : { ...c, reservation: charge.reservation };
}

/** The bucket step of an admission: the credential's bucket, with the tenant's when asked (all-or-nothing). */
function consumeStep(buckets: BucketStore, request: AdmissionRequest): Promise<{ bucket: BucketResult; tenant?: BucketResult }> {
  if (!request.tenant) return buckets.consume(request.bucket, request.cost, request.limits).then(bucketOnly);
  if (!buckets.consumeAll) return Promise.reject(new TypeError("composeAdmission: a tenant bucket needs a BucketStore with consumeAll"));
  return buckets.consumeAll(bothDemands(request, request.tenant), request.cost).then(bothBuckets);
}

async function balanceOf(credits: CreditStore, tenantId: string, grant: number): Promise<AdmissionCredits> {
  try {
    return { outcome: "balance", balance: await credits.balance(tenantId, grant) };
  } catch (error) {
    return { outcome: "unavailable", error };
  }
}

/** Stores in this process that can answer at once (`MemoryBucketStore`, `MemoryCreditStore`). */
interface SynchronousBuckets {
  consumeNow(ref: BucketRef, cost: number, limits: BucketLimits): BucketResult;
  consumeAllNow(buckets: readonly BucketDemand[], cost: number): BucketResult[];
}
interface SynchronousCredits {
  chargeNow(charge: CreditCharge): ChargeResult;
  balanceNow(tenantId: string, grant: number): number;
}

/**
 * The bucket step and the charge without a promise, when both stores can answer at once (the
 * memory stores): what an admission without an idempotency claim is then, with the same
 * semantics as the asynchronous path. Undefined for any other store.
 */
function synchronous(buckets: BucketStore, credits: CreditStore | undefined): ((request: AdmissionRequest) => AdmissionResult) | undefined {
  const b = buckets as Partial<SynchronousBuckets>;
  const c = credits as Partial<SynchronousCredits> | undefined;
  if (typeof b.consumeNow !== "function" || typeof b.consumeAllNow !== "function") return undefined;
  if (c && (typeof c.chargeNow !== "function" || typeof c.balanceNow !== "function")) return undefined;
  const sb = b as SynchronousBuckets;
  const sc = c as SynchronousCredits | undefined;
  return (request) => {
    let bucket: BucketResult;
    let tenant: BucketResult | undefined;
    if (request.tenant) [bucket, tenant] = sb.consumeAllNow(bothDemands(request, request.tenant), request.cost) as [BucketResult, BucketResult];
    else bucket = sb.consumeNow(request.bucket, request.cost, request.limits);
    const result: { -readonly [K in keyof AdmissionResult]: AdmissionResult[K] } = { bucket };
    if (tenant) result.tenant = tenant;
    const charge = request.charge;
    if (!charge || !sc) return result;
    const tenantId = request.bucket.tenantId;
    // A credit store that throws fails metering open, as on the asynchronous path: the call goes through uncharged.
    try {
      if (!bucket.allowed) result.credits = { outcome: "balance", balance: sc.balanceNow(tenantId, charge.grant) };
      else result.credits = creditsOf(sc.chargeNow(chargeOf(tenantId, charge, charge.credits)));
    } catch (error) {
      result.credits = { outcome: "unavailable", error };
    }
    return result;
  };
}

/**
 * An `Admission` over separate stores: each step is atomic, the sequence is not.
 * @example
 * const admission = composeAdmission(buckets, idempotency, credits);
 * const { bucket, claim, credits: charged } = await admission.admit(request);
 */
export function composeAdmission(buckets: BucketStore, idempotency: IdempotencyStore, credits?: CreditStore): Admission {
  const admit = async (request: AdmissionRequest): Promise<AdmissionResult> => {
    const step = await consumeStep(buckets, request);
    const result = await admitAfterBuckets(step.bucket, request);
    return step.tenant ? { ...result, tenant: step.tenant } : result;
  };
  const admitAfterBuckets = async (bucket: BucketResult, request: AdmissionRequest): Promise<AdmissionResult> => {
    const { charge, claim: asked } = request;
    const tenantId = request.bucket.tenantId;
    if (!bucket.allowed) return charge && credits ? { bucket, credits: await balanceOf(credits, tenantId, charge.grant) } : { bucket };
    let claim: AdmissionClaim | undefined;
    if (asked) {
      try {
        claim = await idempotency.claim(asked.ref, asked.fingerprint, { leaseMs: asked.leaseMs });
      } catch (error) {
        claim = { outcome: "unavailable", error };
      }
    }
    if (!charge || !credits) return claim ? { bucket, claim } : { bucket };
    if (claim && (claim.outcome === "in_flight" || claim.outcome === "mismatch")) {
      return { bucket, claim, credits: await balanceOf(credits, tenantId, charge.grant) };
    }
    const price = claim?.outcome === "completed" ? 0 : charge.credits; // a replay is never charged again
    let charged;
    try {
      charged = await credits.charge(chargeOf(tenantId, charge, price));
    } catch (error) {
      return claim ? { bucket, claim, credits: { outcome: "unavailable", error } } : { bucket, credits: { outcome: "unavailable", error } };
    }
    if (!charged.allowed) {
      if (claim?.outcome === "claimed") await idempotency.release(asked!.ref, claim.token).catch(() => {}); // the lease frees it otherwise
      return { bucket, credits: creditsOf(charged) };
    }
    return claim ? { bucket, claim, credits: creditsOf(charged) } : { bucket, credits: creditsOf(charged) };
  };
  const now = synchronous(buckets, credits);
  return {
    ...(credits ? { credits } : {}),
    ...(typeof buckets.consumeAll === "function" ? { tenantBuckets: true } : {}),
    admit(request) {
      // Stores in this process answer at once when no idempotency record is claimed: no await.
      if (now && !request.claim) return now(request);
      // Without a claim or a charge, hand the bucket's own promise through: no extra async hop.
      if (!request.claim && !(request.charge && credits)) return consumeStep(buckets, request);
      return admit(request);
    },
  };
}

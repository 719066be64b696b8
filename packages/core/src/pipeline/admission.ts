import type { BucketLimits, BucketRef, BucketResult, BucketStore } from "../buckets";
import type { ClaimResult, IdempotencyRef, IdempotencyStore } from "../idempotency";

/** What the pipeline asks of the stores before the handler runs. */
export interface AdmissionRequest {
  readonly bucket: BucketRef;
  readonly cost: number;
  readonly limits: BucketLimits;
  /** Present when the request carries an Idempotency-Key: claimed only if the bucket allowed it. */
  readonly claim?: { readonly ref: IdempotencyRef; readonly fingerprint: string; readonly leaseMs: number };
}

/** The claim part of an admission: a store answer, or `unavailable` when its store failed. */
export type AdmissionClaim = ClaimResult | { readonly outcome: "unavailable"; readonly error: unknown };

/** The answer: the bucket decision, and the claim when one was asked for and the bucket allowed. */
export interface AdmissionResult {
  readonly bucket: BucketResult;
  readonly claim?: AdmissionClaim;
}

/**
 * The bucket decision and the idempotency claim, in this order. A store that can do both at
 * once (one Redis script, one round trip) implements this directly; `composeAdmission` runs
 * them one after the other. Throws only when the bucket decision itself cannot be made.
 */
export interface Admission {
  admit(request: AdmissionRequest): Promise<AdmissionResult>;
}

const bucketOnly = (bucket: BucketResult): AdmissionResult => ({ bucket });

/** An `Admission` over a separate bucket store and idempotency store. */
export function composeAdmission(buckets: BucketStore, idempotency: IdempotencyStore): Admission {
  const withClaim = async (request: AdmissionRequest): Promise<AdmissionResult> => {
    const bucket = await buckets.consume(request.bucket, request.cost, request.limits);
    if (!request.claim || !bucket.allowed) return { bucket };
    const { ref, fingerprint, leaseMs } = request.claim;
    try {
      return { bucket, claim: await idempotency.claim(ref, fingerprint, { leaseMs }) };
    } catch (error) {
      return { bucket, claim: { outcome: "unavailable", error } };
    }
  };
  return {
    admit(request) {
      // Without a claim, hand the bucket's own promise through: no extra async hop.
      if (!request.claim) return buckets.consume(request.bucket, request.cost, request.limits).then(bucketOnly);
      return withClaim(request);
    },
  };
}

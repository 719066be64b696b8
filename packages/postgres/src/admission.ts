import { MemoryBucketStore, type Admission, type BucketLimits } from "@alloovium/core";
import { checkCredits, type AdmissionClaim, type AdmissionCredits, type AdmissionRequest, type AdmissionResult, type BucketDemand } from "@alloovium/core/store-kit";
import { checkCost, resultsOf, type PostgresBucketStore } from "./buckets";
import type { PostgresCreditStore } from "./credits";
import { claimOf } from "./idempotency";
import { isConnectionError, type Db } from "./pg";

/** What a part of the admission does when PostgreSQL fails: `open` goes on without it, `closed` answers 503. */
export type FailureMode = "open" | "closed";

/**
 * How the admission fails when PostgreSQL cannot be reached (a connection failure: refused,
 * reset, timed out connecting, the server shutting down). Any other failure (an error of the
 * database, or a query the client gave up on, whose outcome is unknown) always throws: 503
 * `service_unavailable`.
 */
export interface AdmissionFailure {
  /**
   * `open`: decide on a process-local bucket holding this process's share (capacity and refill
   * divided by `localShareOf`); `closed`: `admit` throws (503 `service_unavailable`), except for
   * a request with an Idempotency-Key, whose claim answers `unavailable` (503
   * `idempotency_unavailable` by default, contract section 5; with the policy's
   * `idempotencyFailure: "open"` it is decided on the local share).
   * @default "open"
   */
  readonly buckets?: FailureMode;
  /** Expected instance count, for the local share. @default 1 */
  readonly localShareOf?: number;
  /**
   * `open`: the call goes through uncharged (the credit part answers `unavailable`); `closed`:
   * `admit` throws (503). The idempotency claim always answers `unavailable` (the policy's
   * `idempotencyFailure` decides: 503 `idempotency_unavailable` by default).
   * @default "open"
   */
  readonly credits?: FailureMode;
}

export function checkFailure(where: string, name: string, v: unknown, dflt: FailureMode): FailureMode {
  if (v === undefined) return dflt;
  if (v !== "open" && v !== "closed") throw new TypeError(`${where}: \`${name}\` must be "open" or "closed"`);
  return v;
}

/**
 * The admission on PostgreSQL alone: the bucket decision (with the tenant-wide bucket, all or
 * nothing), then (only if allowed) the idempotency claim, then (when metered) the credit charge,
 * in ONE SQL function call (`<schema>.admit`): one round trip and one transaction, with core's
 * `composeAdmission` semantics. A refused bucket claims and charges nothing but answers the
 * balance; an `in_flight` or `mismatch` claim answers the balance only; a replay is counted at 0
 * credits; a short balance deletes the claim just made and answers `insufficient`.
 * When the call fails, see `AdmissionFailure`.
 * @example
 * const admission = new PostgresAdmission(db, buckets, credits);
 * const { bucket, claim, credits: charged } = await admission.admit(request);
 */
export class PostgresAdmission implements Admission {
  /** The store `charge` parts go to; the policy reads balances and refunds through it. */
  readonly credits?: PostgresCreditStore;
  /** Tenant-wide buckets are decided in the same call as the credential's. */
  readonly tenantBuckets = true;
  readonly #db: Db;
  readonly #buckets: PostgresBucketStore;
  readonly #bucketFailure: FailureMode;
  readonly #creditFailure: FailureMode;
  readonly #share: number;
  readonly #local = new MemoryBucketStore();
  readonly #localLimits = new WeakMap<BucketLimits, BucketLimits>();
  readonly #onError: ((error: unknown, operation: string) => void) | undefined;
  /** The longest the admission waits for a row lock on the server: below the client's timeout. */
  readonly #lockWaitMs: number;

  /** @internal Built by `createPostgresStores`. */
  constructor(
    db: Db,
    buckets: PostgresBucketStore,
    credits: PostgresCreditStore | undefined,
    failure: AdmissionFailure = {},
    onError?: (error: unknown, operation: string) => void,
  ) {
    this.#db = db;
    this.#buckets = buckets;
    if (credits) this.credits = credits;
    this.#bucketFailure = checkFailure("PostgresAdmission", "failure.buckets", failure.buckets, "open");
    this.#creditFailure = checkFailure("PostgresAdmission", "failure.credits", failure.credits, "open");
    const share = failure.localShareOf ?? 1;
    if (typeof share !== "number" || !Number.isFinite(share) || share < 1) throw new TypeError("PostgresAdmission: `failure.localShareOf` must be a number >= 1 (the expected instance count)");
    this.#share = share;
    this.#onError = onError;
    this.#lockWaitMs = lockWaitOf(db.timeoutMs);
  }

  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const { bucket: ref, cost, limits, claim, tenant } = request;
    checkCost("PostgresAdmission.admit", cost);
    const charge = this.credits ? request.charge : undefined;
    if (charge) {
      checkCredits("PostgresAdmission.admit", "charge.credits", charge.credits, 0);
      checkCredits("PostgresAdmission.admit", "charge.grant", charge.grant, 0);
      if (typeof charge.capability !== "string" || charge.capability === "") throw new TypeError("PostgresAdmission.admit: `charge.capability` must be a non-empty string");
    }
    if ((claim && claim.ref.tenantId !== ref.tenantId) || (tenant && tenant.ref.tenantId !== ref.tenantId)) {
      throw new TypeError("PostgresAdmission.admit: the claim and the tenant bucket must belong to the bucket's tenant");
    }
    if (!claim && !charge) {
      // Buckets only: the bucket store's own call.
      try {
        const results = await this.#buckets.consumeAll(tenant ? [{ ref, limits }, tenant] : [{ ref, limits }], cost);
        return tenant ? { bucket: results[0]!, tenant: results[1]! } : { bucket: results[0]! };
      } catch (error) {
        return this.#fallback(request, false, error);
      }
    }
    const demands: BucketDemand[] = tenant ? [{ ref, limits }, tenant] : [{ ref, limits }];
    const leaseMs = claim ? Math.max(1, Math.ceil(claim.leaseMs)) : null;
    let row;
    try {
      [row] = await this.#db.query(`SELECT * FROM ${this.#db.q}.admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, [
        ref.tenantId,
        demands.map((d) => d.ref.id),
        cost,
        demands.map((d) => d.limits.capacity),
        demands.map((d) => d.limits.refillPerSecond),
        claim ? claim.ref.scope : null,
        claim ? claim.ref.key : null,
        claim ? claim.fingerprint : null,
        leaseMs,
        charge ? charge.capability : null,
        charge ? charge.credits : null,
        charge ? charge.grant : null,
        charge?.reservation ?? null,
        this.#lockWaitMs,
      ]);
    } catch (error) {
      return this.#fallback(request, charge !== undefined, error);
    }
    const results = resultsOf(row.allowed, row.after, cost, demands);
    const buckets = tenant ? { bucket: results[0]!, tenant: results[1]! } : { bucket: results[0]! };
    const claimed: AdmissionClaim | undefined =
      row.allowed && claim && row.claim_outcome !== null ? claimOf(row.claim_outcome, row.claim_token, row.claim_status, row.claim_headers, row.claim_body) : undefined;
    if (!charge) return claimed ? { ...buckets, claim: claimed } : buckets;
    const credits = creditsOf(row);
    if (credits.outcome === "insufficient" || !claimed) return { ...buckets, credits };
    return { ...buckets, claim: claimed, credits };
  }

  /**
   * When the call failed. Only a connection failure (PostgreSQL unreachable or the connection
   * lost: `isConnectionError`) is absorbed, each part its own way (see `AdmissionFailure`);
   * anything else is thrown (503 `service_unavailable`): an error of the database (a missing
   * function, a permission, a lock wait cut short) or a client timeout, whose outcome is unknown
   * (the statement may have been applied) and is never taken for "nothing happened".
   */
  #fallback(request: AdmissionRequest, metered: boolean, error: unknown): AdmissionResult {
    if (error instanceof TypeError || !isConnectionError(error)) throw error;
    this.#onError?.(error, "admit");
    const { bucket: ref, cost, limits, claim, tenant } = request;
    if (metered && this.#creditFailure === "closed") throw error;
    // With a claim asked for, the idempotency store is unreachable too: the claim answers
    // `unavailable` (503 `idempotency_unavailable` by default, contract section 5), also when
    // buckets fail closed.
    if (this.#bucketFailure === "closed" && !claim) throw error;
    const demands = tenant ? [{ ref, limits: this.#localOf(limits) }, { ref: tenant.ref, limits: this.#localOf(tenant.limits) }] : [{ ref, limits: this.#localOf(limits) }];
    const results = this.#local.consumeAllNow(demands, cost);
    const buckets = tenant ? { bucket: results[0]!, tenant: results[1]! } : { bucket: results[0]! };
    const credits: AdmissionCredits | undefined = metered ? { outcome: "unavailable", error } : undefined;
    if (!buckets.bucket.allowed || !claim) return credits ? { ...buckets, credits } : buckets;
    const c: AdmissionClaim = { outcome: "unavailable", error };
    return credits ? { ...buckets, claim: c, credits } : { ...buckets, claim: c };
  }

  /** This process's share of a bucket (at least one token, so a cost of 1 can pass). */
  #localOf(limits: BucketLimits): BucketLimits {
    if (this.#share === 1) return limits;
    let l = this.#localLimits.get(limits);
    if (!l) {
      l = { capacity: Math.max(1, Math.floor(limits.capacity / this.#share)), refillPerSecond: limits.refillPerSecond / this.#share };
      this.#localLimits.set(limits, l);
    }
    return l;
  }
}

function creditsOf(row: { credits_outcome: string; balance: string; charged: string | null; hour_ms: string | null }): AdmissionCredits {
  const balance = Number(row.balance);
  switch (row.credits_outcome) {
    case "charged":
      return { outcome: "charged", balance, credits: Number(row.charged), hour: Number(row.hour_ms) };
    case "insufficient":
      return { outcome: "insufficient", balance };
    case "balance":
      return { outcome: "balance", balance };
    default:
      throw new Error(`PostgresAdmission: unexpected credits outcome ${String(row.credits_outcome)}`);
  }
}

/** 80% of the client's timeout (at least 1 ms): the server gives up on a lock wait first. */
export function lockWaitOf(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs * 0.8));
}

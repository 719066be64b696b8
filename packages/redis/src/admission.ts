import { composeAdmission, type Admission, type AdmissionRequest, type AdmissionResult } from "@alloovium/core";
import { resultOf, type RedisBucketStore } from "./buckets";
import { claimOf, type RedisIdempotencyStore } from "./idempotency";
import { kFallback, kInternals } from "./internal";
import { ADMIT_SCRIPT } from "./scripts";

/**
 * An `Admission` that makes the bucket decision and the idempotency claim in one Lua script
 * (one round trip) when a claim is asked for, and runs the bucket script alone otherwise. When
 * Redis fails, each part fails its own way: the bucket open onto the local share (or closed:
 * `admit` throws), the claim closed as `{ outcome: "unavailable" }` (or open onto a local store).
 * @example
 * const admission = new RedisAdmission(buckets, idempotency);
 * const { bucket, claim } = await admission.admit({ bucket: ref, cost: 1, limits, claim: { ref: idemRef, fingerprint, leaseMs: 60_000 } });
 */
export class RedisAdmission implements Admission {
  readonly #buckets: RedisBucketStore;
  readonly #idempotency: RedisIdempotencyStore;
  readonly #composed: Admission;

  constructor(buckets: RedisBucketStore, idempotency: RedisIdempotencyStore) {
    if (!buckets || !(kInternals in buckets)) throw new TypeError("RedisAdmission: `buckets` must be a RedisBucketStore");
    if (!idempotency || !(kInternals in idempotency)) throw new TypeError("RedisAdmission: `idempotency` must be a RedisIdempotencyStore");
    const b = buckets[kInternals];
    const i = idempotency[kInternals];
    if (b.conn.client !== i.conn.client || b.keys.prefix !== i.keys.prefix) {
      throw new TypeError("RedisAdmission: `buckets` and `idempotency` must share one client and keyPrefix");
    }
    this.#buckets = buckets;
    this.#idempotency = idempotency;
    this.#composed = composeAdmission(buckets, idempotency);
  }

  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const { bucket: ref, cost, limits, claim } = request;
    if (!claim) return { bucket: await this.#buckets.consume(ref, cost, limits) };
    // Different tenants would mean different slots: two scripts (never happens in the pipeline).
    if (claim.ref.tenantId !== ref.tenantId) return this.#composed.admit(request);
    const { conn, keys } = this.#buckets[kInternals];
    const leaseMs = Math.max(1, Math.ceil(claim.leaseMs));
    let reply: unknown[];
    try {
      reply = await conn.decision(
        ADMIT_SCRIPT,
        [keys.bucket(ref.tenantId, ref.id), keys.idempotency(claim.ref.tenantId, claim.ref.scope, claim.ref.key), keys.sequence(ref.tenantId)],
        [cost, limits.capacity, limits.refillPerSecond, 0, claim.fingerprint, leaseMs],
      );
    } catch (error) {
      // The script is atomic, and one that ran after its deadline wrote nothing: as far as this
      // process can tell, neither part happened.
      const bucket = this.#buckets[kFallback](ref, cost, limits, error);
      if (!bucket.allowed) return { bucket };
      return { bucket, claim: await this.#idempotency[kFallback](claim.ref, claim.fingerprint, leaseMs, error) };
    }
    const bucket = resultOf(reply, cost, limits);
    if (!bucket.allowed) return { bucket };
    return { bucket, claim: claimOf(reply[3], reply[4]) };
  }
}

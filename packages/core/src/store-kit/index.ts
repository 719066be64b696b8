/**
 * `@alloovium/core/store-kit`: the building blocks of a store implementation (a database, another
 * cache). The store interfaces are in the root (`KeyStore`, `BucketStore`, `IdempotencyStore`,
 * `CreditStore`, `Admission`); here are the values they exchange and the rules every
 * implementation must share, so that a new store answers exactly as the memory and Redis ones do.
 * Check an implementation with `@alloovium/core/conformance`.
 */

// Token buckets: the arithmetic every bucket store shares.
export { bucketResult, holdsCost, refillTokens, takeTokens, type BucketDemand, type BucketRef, type BucketResult } from "../buckets/store";
export { MAX_BUCKET_CAPACITY, checkLimits } from "../buckets/tiers";

// The admission: bucket, idempotency claim and credit charge in one step.
export { composeAdmission, type AdmissionClaim, type AdmissionCredits, type AdmissionRequest, type AdmissionResult } from "../pipeline/admission";

// Idempotency records.
export type { ClaimResult, IdempotencyRecord, IdempotencyRef, StoredResponse } from "../idempotency/store";
export { IDEMPOTENCY_TTL_MS } from "../idempotency/store";
export { toStoredResponse } from "../idempotency/replay";

// Key records: the rules of a patch, of activity, and of the list order.
export {
  applyKeyPatch,
  compareNewestFirst,
  isActiveKey,
  isUnused,
  laterTime,
  type KeyInsertOptions,
  type KeyInsertOutcome,
  type KeyListOptions,
  type KeyListPosition,
  type KeyPatch,
  type KeyPatchResult,
} from "../credentials/key-store";

// Credits and usage: hours, retention, argument checks and the order of usage rows.
export { HOUR_MS, USAGE_RETENTION_MS, checkCredits, hourStart, type ChargeResult, type CreditCharge, type CreditLedger, type CreditRefund, type LedgerEntry, type LedgerEntryKind, type UsageRow } from "../credits/store";
export { compareUsageRows } from "../credits/memory";

// The clock every store reads by default.
export { systemClock } from "../clock";

// Cursors: the `(created_at, id)` order pages follow.
export { compareCursorOrder, decodeCursor, encodeCursor, type Cursor } from "../pagination";

/** Which idempotency record: keys are scoped to the principal and never shared across tenants. */
export interface IdempotencyRef {
  readonly tenantId: string;
  /** The rest of the principal's scope: `<user_id>:<environment>`. */
  readonly scope: string;
  /** The client's `Idempotency-Key`, unquoted. */
  readonly key: string;
}

/** A handler's response as kept for replay: the allow-listed headers only. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The outcome of `claim`. */
export type ClaimResult =
  /** The caller holds the key until its lease ends; only `token` may complete or release it. */
  | { readonly outcome: "claimed"; readonly token: string }
  /** Another request holds a live lease on the key with the same fingerprint. */
  | { readonly outcome: "in_flight" }
  /** The key completed with the same fingerprint: replay `response`. */
  | { readonly outcome: "completed"; readonly response: StoredResponse }
  /** The key is held or completed for another request (other fingerprint). */
  | { readonly outcome: "mismatch" };

/** A record as `read` returns it. Times are store-clock milliseconds. */
export type IdempotencyRecord =
  | { readonly state: "in_flight"; readonly fingerprint: string; readonly token: string; readonly leaseExpiresAt: number }
  | { readonly state: "completed"; readonly fingerprint: string; readonly response: StoredResponse; readonly expiresAt: number };

/**
 * The Idempotency-Key store. Every method is atomic per record.
 *
 * - `claim`: absent or expired (a completed record past its TTL, or an in-flight one past its
 *   lease) -> a new in-flight record with a fresh `token` (a fencing token: unique per claim, and
 *   a later claim of a key never gets the token of an earlier one); present -> `mismatch` when the
 *   fingerprint differs, else `completed` or `in_flight`.
 * - `complete`: only with the current token of an in-flight record; stores the response for
 *   `ttlMs` (24 hours in the pipeline). Returns false, writing nothing, otherwise.
 * - `release`: only with the current token of an in-flight record; deletes it so a retry runs.
 * - `read`: the live record, or null; expiry is checked on read.
 */
export interface IdempotencyStore {
  claim(ref: IdempotencyRef, fingerprint: string, options: { readonly leaseMs: number }): Promise<ClaimResult>;
  complete(ref: IdempotencyRef, token: string, response: StoredResponse, options: { readonly ttlMs: number }): Promise<boolean>;
  release(ref: IdempotencyRef, token: string): Promise<boolean>;
  read(ref: IdempotencyRef): Promise<IdempotencyRecord | null>;
}

/** How long a completed record is replayed: 24 hours. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

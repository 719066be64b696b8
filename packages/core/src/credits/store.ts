/** A new tenant's balance: 100,000 credits ($100 at $0.001 a credit). */
export const DEFAULT_CREDIT_GRANT = 100_000;

/** How long hourly usage is kept: 7 days. */
export const USAGE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** One hour in milliseconds: the unit of usage. */
export const HOUR_MS = 60 * 60 * 1000;

/**
 * The start of the hour holding `ms` (UTC, milliseconds since the epoch).
 * @example hourStart(Date.parse("2026-04-02T10:42:00Z")) // Date.parse("2026-04-02T10:00:00Z")
 */
export function hourStart(ms: number): number {
  return ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

/** One metered call: the tenant pays `credits` for `capability`. */
export interface CreditCharge {
  readonly tenantId: string;
  /** The capability id the call is counted under in usage (`vault.projects.list`). */
  readonly capability: string;
  /** Credits to take: an integer >= 0. 0 counts the call and reads the balance; it never fails. */
  readonly credits: number;
  /** The balance of a tenant the store has not seen yet (its first charge starts from it). */
  readonly grant: number;
  /**
   * A unique id of this charge, made by the pipeline per metered decision: a store that keeps a
   * ledger records the charge under it, and its refund names it. Optional so that older callers
   * compile; the pipeline always sets it.
   */
  readonly reservation?: string;
}

/** The outcome of `charge`. */
export interface ChargeResult {
  /** True when the credits were taken (always for a price of 0). A refused charge takes nothing and counts nothing. */
  readonly allowed: boolean;
  /** The balance after the charge; the unchanged balance when refused. */
  readonly balance: number;
  /** Credits taken: `credits` when allowed, else 0. */
  readonly charged: number;
  /** The usage hour the call was counted in (`hourStart` of the store's clock), for `refund`. */
  readonly hour: number;
}

/** Gives back what one charge took (a 5xx or a thrown error). */
export interface CreditRefund {
  readonly tenantId: string;
  readonly capability: string;
  /** Exactly the `charged` of the charge being refunded: never more. */
  readonly credits: number;
  /** The `hour` of that charge: its usage loses the credits, the call stays counted. */
  readonly hour: number;
  readonly grant: number;
  /** The `reservation` of the charge being refunded: a store that keeps a ledger refunds it at most once. */
  readonly reservation?: string;
}

/** Calls and credits of one capability in one hour. */
export interface UsageRow {
  /** Start of the hour, milliseconds since the epoch (UTC). */
  readonly hour: number;
  readonly capability: string;
  /** Calls the policy admitted (the handler ran, or a stored response was replayed). */
  readonly calls: number;
  /** Credits charged, net of refunds. */
  readonly credits: number;
}

/**
 * A tenant's prepaid credit balance and hourly usage per capability, kept together so that a
 * charge and its usage are one atomic step. Tenants are isolated: every method takes the tenant.
 *
 * - `charge` is atomic per tenant: concurrent charges never take the balance below zero, and a
 *   charge is counted in usage (one call, `credits` credits, in the hour of the store's clock)
 *   if and only if it was allowed. A tenant never charged holds `grant`.
 * - `refund` adds `credits` back and takes them off the usage of `hour`; the caller refunds a
 *   charge at most once, with its `charged` amount.
 * - `usage` answers the rows of hours from `hourStart(sinceMs)` on, oldest hour first, then by
 *   capability; rows expire after the store's retention (7 days by default).
 *
 * Implementations: `MemoryCreditStore`, `RedisCreditStore` in `@alloovium/redis`.
 */
export interface CreditStore {
  charge(charge: CreditCharge): Promise<ChargeResult>;
  /** Resolves to the balance after the refund. */
  refund(refund: CreditRefund): Promise<number>;
  /** The tenant's balance (`grant` when never charged). */
  balance(tenantId: string, grant: number): Promise<number>;
  /** A top-up: adds `credits` (an integer >= 1) and resolves to the new balance. */
  add(tenantId: string, credits: number, grant: number): Promise<number>;
  usage(tenantId: string, sinceMs: number): Promise<UsageRow[]>;
}

/** The kinds of ledger entry. */
export type LedgerEntryKind = "grant" | "charge" | "refund" | "topup";

/** One entry of a durable credit ledger. */
export interface LedgerEntry {
  /**
   * Unique per entry; an id already recorded is skipped (a retried flush records once).
   * charge: the reservation id; refund: `refund:<reservation>`; grant: `grant:<tenant>`; topup: a fresh id.
   */
  readonly id: string;
  readonly tenantId: string;
  readonly kind: LedgerEntryKind;
  /** Signed credits: grant/topup/refund > 0 (a refund may not exceed its charge), charge <= 0 (0: a free call). */
  readonly amount: number;
  /** The capability charged (charge/refund), else null. */
  readonly capability: string | null;
  /** charge: its own reservation id; refund: the refunded charge's reservation id; else null. */
  readonly reservation: string | null;
  /** Milliseconds since the epoch (the time the store took the charge). */
  readonly at: number;
}

/**
 * A durable, append-only ledger: the system of record behind a fast credit store.
 * Implementation: `PostgresLedger` in `@alloovium/postgres`.
 */
export interface CreditLedger {
  /**
   * Records the entries atomically as one batch; entries whose id is already recorded are
   * skipped; a refund whose charge is not (yet) recorded is still recorded (flush order).
   * A tenant's balance afterwards equals the sum of its entries.
   * May resolve to each tenant's balance right after the batch (tenant id -> balance, read in the
   * same transaction; tenants the ledger holds no balance for left out): a fast store in front
   * checks its balances against them. Resolving to nothing is allowed (the store then reads
   * `balance` after the append).
   */
  append(entries: readonly LedgerEntry[]): Promise<void | ReadonlyMap<string, number>>;
  /** The tenant's balance (sum of entries), or null when the ledger has no entry for it. */
  balance(tenantId: string): Promise<number | null>;
  /**
   * Usage rows (calls and net credits per capability per hour) from `hourStart(sinceMs)` on,
   * read from the ledger's data, in the same order as `CreditStore.usage`.
   */
  usage(tenantId: string, sinceMs: number): Promise<UsageRow[]>;
}

/**
 * Throws a TypeError unless `v` is an integer >= `min` (store argument checks).
 * @example const credits = checkCredits("charge", "credits", charge.credits, 0); // throws a TypeError naming it
 */
export function checkCredits(where: string, name: string, v: unknown, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw new TypeError(`${where}: \`${name}\` must be an integer >= ${min}`);
  return v;
}

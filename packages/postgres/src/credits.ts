import type { CreditStore } from "@alloovium/core";
import {
  checkCredits,
  hourStart,
  USAGE_RETENTION_MS,
  type ChargeResult,
  type CreditCharge,
  type CreditLedger,
  type CreditRefund,
  type LedgerEntry,
  type UsageRow,
} from "@alloovium/core/store-kit";
import { Db, type PostgresStoreOptions } from "./pg";

/** Options of `PostgresCreditStore` and `PostgresLedger`. */
export interface PostgresCreditStoreOptions extends PostgresStoreOptions {
  /** How long hourly usage is answered (ms); the ledger itself is kept. @default USAGE_RETENTION_MS (7 days) */
  readonly usageRetentionMs?: number;
}

function checkRetention(where: string, v: unknown): number {
  if (v === undefined) return USAGE_RETENTION_MS;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 3_600_000) throw new TypeError(`${where}: \`usageRetentionMs\` must be an integer >= 3600000 (one hour)`);
  return v;
}

function checkTenant(where: string, tenantId: unknown): string {
  if (typeof tenantId !== "string" || tenantId === "") throw new TypeError(`${where}: \`tenantId\` must be a non-empty string`);
  return tenantId;
}

/** Usage rows of a tenant from the hour of `sinceMs` on (within retention), oldest hour first, then capability. */
async function readUsageRows(db: Db, retentionMs: number, tenantId: string, sinceMs: number): Promise<UsageRow[]> {
  if (typeof sinceMs !== "number" || !Number.isFinite(sinceMs)) throw new TypeError("usage: `sinceMs` must be a time in ms");
  const rows = await db.query<{ hour_ms: string; capability: string; calls: string; credits: string }>(
    `SELECT hour_ms, capability, calls, credits FROM ${db.q}.credit_usage
      WHERE tenant_id = $1 AND hour_ms >= GREATEST($2::bigint, (floor(${db.q}.now_ms())::bigint - $3::bigint) / 3600000 * 3600000)
      ORDER BY hour_ms, capability COLLATE "C"`,
    [tenantId, hourStart(sinceMs), retentionMs],
  );
  return rows.map((r) => ({ hour: Number(r.hour_ms), capability: r.capability, calls: Number(r.calls), credits: Number(r.credits) }));
}

/**
 * Tenants' credit balances and hourly usage in PostgreSQL, kept by the append-only ledger
 * (`<schema>.credit_ledger`): every grant, charge, refund and top-up is one entry, and the
 * balance (`credit_balances`) and usage (`credit_usage`) change in the same transaction, so a
 * balance always equals the sum of its tenant's entries. Each method is one function call on
 * the database's clock.
 *
 * - `charge` never takes a balance below zero (the balance row is locked); it is recorded under
 *   its `reservation` id (a fresh one when absent), and a reservation is charged once.
 * - `refund` names its charge (`reservation`, required: a TypeError without it) and gives back
 *   at most what that charge took, at most once (a second refund, or one naming no recorded
 *   charge, changes nothing), off the usage of the charge's hour.
 * - `add` tops a tenant up: the hook a billing integration needs.
 * @example
 * const credits = new PostgresCreditStore({ pool });
 * await credits.add(tenantId, 50_000, DEFAULT_CREDIT_GRANT); // a top-up
 */
export class PostgresCreditStore implements CreditStore {
  readonly #db: Db;
  readonly #retentionMs: number;

  constructor(options: PostgresCreditStoreOptions) {
    this.#db = new Db("PostgresCreditStore", options);
    this.#retentionMs = checkRetention("PostgresCreditStore", options.usageRetentionMs);
  }

  async charge(charge: CreditCharge): Promise<ChargeResult> {
    const tenantId = checkTenant("PostgresCreditStore.charge", charge.tenantId);
    const credits = checkCredits("PostgresCreditStore.charge", "credits", charge.credits, 0);
    const grant = checkCredits("PostgresCreditStore.charge", "grant", charge.grant, 0);
    const rows = await this.#db.query<{ allowed: boolean; bal: string; charged: string; hr: string }>(
      `SELECT * FROM ${this.#db.q}.credit_charge($1, $2, $3, $4, $5)`,
      [tenantId, charge.capability, credits, grant, charge.reservation ?? null],
    );
    const r = rows[0]!;
    return { allowed: r.allowed, balance: Number(r.bal), charged: Number(r.charged), hour: Number(r.hr) };
  }

  async refund(refund: CreditRefund): Promise<number> {
    const tenantId = checkTenant("PostgresCreditStore.refund", refund.tenantId);
    const credits = checkCredits("PostgresCreditStore.refund", "credits", refund.credits, 0);
    const grant = checkCredits("PostgresCreditStore.refund", "grant", refund.grant, 0);
    if (typeof refund.hour !== "number" || !Number.isSafeInteger(refund.hour)) throw new TypeError("PostgresCreditStore.refund: `hour` must be a time in ms");
    // The ledger's rule (contract section 10): a refund names its charge. Without one it could be
    // neither capped at the charge nor made once.
    if (typeof refund.reservation !== "string" || refund.reservation === "") {
      throw new TypeError("PostgresCreditStore.refund: `reservation` (the charge's reservation id) is required: a refund names its charge");
    }
    const rows = await this.#db.query<{ b: string }>(`SELECT ${this.#db.q}.credit_refund($1, $2, $3, $4, $5, $6) AS b`, [
      tenantId,
      refund.capability,
      credits,
      refund.hour,
      grant,
      refund.reservation,
    ]);
    return Number(rows[0]!.b);
  }

  async balance(tenantId: string, grant: number): Promise<number> {
    const rows = await this.#db.query<{ balance: string }>(`SELECT balance FROM ${this.#db.q}.credit_balances WHERE tenant_id = $1`, [tenantId]);
    return rows[0] ? Number(rows[0].balance) : grant;
  }

  async add(tenantId: string, credits: number, grant: number): Promise<number> {
    checkTenant("PostgresCreditStore.add", tenantId);
    checkCredits("PostgresCreditStore.add", "credits", credits, 1);
    checkCredits("PostgresCreditStore.add", "grant", grant, 0);
    const rows = await this.#db.query<{ b: string }>(`SELECT ${this.#db.q}.credit_add($1, $2, $3) AS b`, [tenantId, credits, grant]);
    return Number(rows[0]!.b);
  }

  usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    return readUsageRows(this.#db, this.#retentionMs, tenantId, sinceMs);
  }
}

const KINDS = new Set(["grant", "charge", "refund", "topup"]);

/** Throws a TypeError naming the entry unless it follows `LedgerEntry`'s rules. */
function checkEntry(e: LedgerEntry, i: number): void {
  const where = `PostgresLedger.append: entry ${i}`;
  if (!e || typeof e !== "object") throw new TypeError(`${where} must be an object`);
  if (typeof e.id !== "string" || e.id === "") throw new TypeError(`${where}: \`id\` must be a non-empty string`);
  checkTenant(where, e.tenantId);
  if (!KINDS.has(e.kind)) throw new TypeError(`${where}: \`kind\` must be grant, charge, refund or topup`);
  if (typeof e.amount !== "number" || !Number.isSafeInteger(e.amount) || (e.kind === "charge" ? e.amount > 0 : e.amount < 0)) {
    throw new TypeError(`${where}: \`amount\` must be an integer, <= 0 for a charge and >= 0 otherwise`);
  }
  if (e.capability !== null && typeof e.capability !== "string") throw new TypeError(`${where}: \`capability\` must be a string or null`);
  if (e.reservation !== null && typeof e.reservation !== "string") throw new TypeError(`${where}: \`reservation\` must be a string or null`);
  if (e.kind === "refund" && e.reservation === null) throw new TypeError(`${where}: a refund must name its charge's \`reservation\``);
  if (typeof e.at !== "number" || !Number.isSafeInteger(e.at) || e.at < 0) throw new TypeError(`${where}: \`at\` must be a time in ms`);
}

/**
 * The durable ledger (`CreditLedger`) over the tables `PostgresCreditStore` writes: the system of
 * record behind a fast credit store (Redis) that flushes its charges and refunds here.
 * `append` records a batch in one statement and one transaction; an id already recorded is
 * skipped (a retried flush records once), a refund never exceeds its charge when that charge is
 * recorded and counts in its hour, and the balance and usage change with the entries.
 * @example
 * const ledger = new PostgresLedger({ pool });
 * await ledger.append([{ id: reservation, tenantId, kind: "charge", amount: -2, capability: "vault.projects.create", reservation, at: Date.now() }]);
 * const balance = await ledger.balance(tenantId); // null: no entry for the tenant
 */
export class PostgresLedger implements CreditLedger {
  readonly #db: Db;
  readonly #retentionMs: number;

  constructor(options: PostgresCreditStoreOptions) {
    this.#db = new Db("PostgresLedger", options);
    this.#retentionMs = checkRetention("PostgresLedger", options.usageRetentionMs);
  }

  /**
   * Records the entries (see `CreditLedger.append`); resolves once committed, to each tenant's
   * balance right after the batch (tenant id -> balance; read in the same transaction; a tenant
   * whose every entry is held back has none).
   */
  async append(entries: readonly LedgerEntry[]): Promise<Map<string, number>> {
    if (!Array.isArray(entries)) throw new TypeError("PostgresLedger.append: `entries` must be an array");
    entries.forEach(checkEntry);
    if (entries.length === 0) return new Map();
    const rows = await this.#db.query<{ tenant_id: string; balance: string }>(`SELECT tenant_id, balance FROM ${this.#db.q}.ledger_append_balances($1, $2, $3, $4, $5, $6, $7)`, [
      entries.map((e) => e.id),
      entries.map((e) => e.tenantId),
      entries.map((e) => e.kind),
      entries.map((e) => e.amount),
      entries.map((e) => e.capability),
      entries.map((e) => e.reservation),
      entries.map((e) => e.at),
    ]);
    return new Map(rows.map((r) => [r.tenant_id, Number(r.balance)]));
  }

  async balance(tenantId: string): Promise<number | null> {
    const rows = await this.#db.query<{ balance: string }>(`SELECT balance FROM ${this.#db.q}.credit_balances WHERE tenant_id = $1`, [tenantId]);
    return rows[0] ? Number(rows[0].balance) : null;
  }

  usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    return readUsageRows(this.#db, this.#retentionMs, tenantId, sinceMs);
  }

  /** The tenant's entries in the order they were recorded (an audit read; `limit` at most 10,000). */
  async entries(tenantId: string, options: { readonly limit?: number } = {}): Promise<LedgerEntry[]> {
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new TypeError("PostgresLedger.entries: `limit` must be an integer from 1 to 10000");
    const rows = await this.#db.query<{ id: string; kind: LedgerEntry["kind"]; amount: string; capability: string | null; reservation: string | null; at_ms: string }>(
      `SELECT id, kind, amount, capability, reservation, at_ms FROM ${this.#db.q}.credit_ledger WHERE tenant_id = $1 ORDER BY seq LIMIT $2`,
      [tenantId, limit],
    );
    return rows.map((r) => ({ id: r.id, tenantId, kind: r.kind, amount: Number(r.amount), capability: r.capability, reservation: r.reservation, at: Number(r.at_ms) }));
  }
}

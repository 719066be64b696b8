import type { IdempotencyStore } from "@alloovium/core";
import type { ClaimResult, IdempotencyRecord, IdempotencyRef, StoredResponse } from "@alloovium/core/store-kit";
import { Db, type PostgresStoreOptions } from "./pg";

/** Options of `PostgresIdempotencyStore`. */
export type PostgresIdempotencyStoreOptions = PostgresStoreOptions;

export function checkRef(where: string, ref: IdempotencyRef): void {
  if (!ref || typeof ref.tenantId !== "string" || typeof ref.scope !== "string" || typeof ref.key !== "string") {
    throw new TypeError(`${where}: \`ref\` must be { tenantId, scope, key } strings`);
  }
}

function checkMs(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`${where}: \`${name}\` must be a positive number of milliseconds`);
  return v;
}

/** A claim's raw row as a `ClaimResult`. */
export function claimOf(outcome: string, token: string | null, status: number | null, headers: Record<string, string> | null, body: string | null): ClaimResult {
  switch (outcome) {
    case "claimed":
      return { outcome: "claimed", token: String(token) };
    case "completed":
      return { outcome: "completed", response: { status: status!, headers: headers ?? {}, body: body ?? "" } };
    case "in_flight":
      return { outcome: "in_flight" };
    case "mismatch":
      return { outcome: "mismatch" };
    default:
      throw new Error(`PostgresIdempotencyStore: unexpected claim outcome ${outcome}`);
  }
}

/**
 * Idempotency records in PostgreSQL (a logged table: a stored response survives a restart), on
 * the database's clock. A claim takes a lease with a fencing token from one sequence (a later
 * claim of a key always holds a greater token); only the current token completes or releases.
 * Expired records are absent to every method and deleted by the sweep, which skips rows in use.
 * @example
 * const idempotency = new PostgresIdempotencyStore({ pool });
 * const claim = await idempotency.claim(ref, fingerprint, { leaseMs: 60_000 });
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly #db: Db;

  constructor(options: PostgresIdempotencyStoreOptions) {
    this.#db = new Db("PostgresIdempotencyStore", options);
  }

  async claim(ref: IdempotencyRef, fingerprint: string, options: { readonly leaseMs: number }): Promise<ClaimResult> {
    checkRef("PostgresIdempotencyStore.claim", ref);
    const leaseMs = checkMs("PostgresIdempotencyStore.claim", "leaseMs", options?.leaseMs);
    const rows = await this.#db.query(`SELECT * FROM ${this.#db.q}.idem_claim($1, $2, $3, $4, $5)`, [ref.tenantId, ref.scope, ref.key, fingerprint, leaseMs]);
    const r = rows[0]!;
    return claimOf(r.outcome, r.token, r.status, r.headers, r.body);
  }

  async complete(ref: IdempotencyRef, token: string, response: StoredResponse, options: { readonly ttlMs: number }): Promise<boolean> {
    checkRef("PostgresIdempotencyStore.complete", ref);
    const ttlMs = checkMs("PostgresIdempotencyStore.complete", "ttlMs", options?.ttlMs);
    if (!/^\d{1,18}$/.test(String(token))) return false;
    const rows = await this.#db.query(
      `UPDATE ${this.#db.q}.idempotency SET state = 'completed', status = $5, headers = $6::jsonb, body = $7, until_ms = ${this.#db.q}.now_ms() + $8
        WHERE tenant_id = $1 AND scope = $2 AND key = $3 AND state = 'in_flight' AND token = $4 AND until_ms > ${this.#db.q}.now_ms() RETURNING 1`,
      [ref.tenantId, ref.scope, ref.key, token, response.status, JSON.stringify(response.headers ?? {}), response.body, ttlMs],
    );
    return rows.length > 0;
  }

  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    checkRef("PostgresIdempotencyStore.release", ref);
    if (!/^\d{1,18}$/.test(String(token))) return false;
    const rows = await this.#db.query(
      `DELETE FROM ${this.#db.q}.idempotency WHERE tenant_id = $1 AND scope = $2 AND key = $3 AND state = 'in_flight' AND token = $4 AND until_ms > ${this.#db.q}.now_ms() RETURNING 1`,
      [ref.tenantId, ref.scope, ref.key, token],
    );
    return rows.length > 0;
  }

  async read(ref: IdempotencyRef): Promise<IdempotencyRecord | null> {
    checkRef("PostgresIdempotencyStore.read", ref);
    const rows = await this.#db.query(
      `SELECT state, fingerprint, token, until_ms, status, headers, body FROM ${this.#db.q}.idempotency
        WHERE tenant_id = $1 AND scope = $2 AND key = $3 AND until_ms > ${this.#db.q}.now_ms()`,
      [ref.tenantId, ref.scope, ref.key],
    );
    const r = rows[0];
    if (!r) return null;
    const until = Math.floor(Number(r.until_ms));
    return r.state === "in_flight"
      ? { state: "in_flight", fingerprint: r.fingerprint, token: String(r.token), leaseExpiresAt: until }
      : { state: "completed", fingerprint: r.fingerprint, response: { status: r.status, headers: r.headers ?? {}, body: r.body ?? "" }, expiresAt: until };
  }
}

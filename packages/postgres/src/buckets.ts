import type { BucketLimits, BucketStore } from "@alloovium/core";
import { checkLimits, bucketResult, type BucketDemand, type BucketRef, type BucketResult } from "@alloovium/core/store-kit";
import { Db, type PostgresStoreOptions } from "./pg";

/** Options of `PostgresBucketStore`. */
export type PostgresBucketStoreOptions = PostgresStoreOptions;

/** The results of one bucket step from the tokens each bucket holds after it. */
export function resultsOf(allowed: boolean, after: readonly number[], cost: number, demands: readonly BucketDemand[]): BucketResult[] {
  return demands.map((d, i) => bucketResult(allowed, after[i]!, cost, d.limits));
}

export function checkCost(where: string, cost: unknown): number {
  if (typeof cost !== "number" || !Number.isSafeInteger(cost) || cost < 0) throw new TypeError(`${where}: \`cost\` must be an integer >= 0`);
  return cost;
}

function checkDemands(where: string, demands: readonly BucketDemand[]): string {
  if (!Array.isArray(demands) || demands.length === 0) throw new TypeError(`${where}: \`buckets\` must be a non-empty array`);
  const tenant = demands[0]!.ref.tenantId;
  for (const d of demands) {
    checkLimits(where, d.limits);
    if (d.ref.tenantId !== tenant) throw new TypeError(`${where}: every bucket of one step must belong to one tenant`);
  }
  return tenant;
}

/**
 * Token buckets in PostgreSQL (an UNLOGGED table: losing it only refills buckets), on the
 * database's clock, so that every instance sharing the database shares each bucket. One function
 * call per decision; a full bucket's row is dropped by the sweep (`PostgresStores.sweep`).
 * @example
 * const buckets = new PostgresBucketStore({ pool });
 * const r = await buckets.consume({ tenantId, id: "key:k1" }, 1, { capacity: 100, refillPerSecond: 10 });
 */
export class PostgresBucketStore implements BucketStore {
  readonly #db: Db;

  constructor(options: PostgresBucketStoreOptions) {
    this.#db = new Db("PostgresBucketStore", options);
  }

  async consume(ref: BucketRef, cost: number, limits: BucketLimits): Promise<BucketResult> {
    checkCost("PostgresBucketStore.consume", cost);
    checkLimits("PostgresBucketStore.consume", limits);
    // One plain statement (the same upsert as the `bucket_one` function the admission runs):
    // `excluded.at_ms` is the database's clock, read once for the whole step.
    const rows = await this.#db.query<{ allowed: boolean; after: number }>(
      `INSERT INTO ${this.#db.q}.buckets AS b (tenant_id, id, tokens, at_ms, full_ms, taken)
       VALUES ($1, $2, CASE WHEN $4 + 1e-9 >= $3 THEN GREATEST(0, $4 - $3) ELSE $4 END, extract(epoch FROM clock_timestamp()) * 1000,
         extract(epoch FROM clock_timestamp()) * 1000 + (CASE WHEN $4 + 1e-9 >= $3 THEN LEAST($4, $3) ELSE 0 END) * 1000 / $5, $4 + 1e-9 >= $3)
       ON CONFLICT (tenant_id, id) DO UPDATE SET
         tokens = CASE WHEN LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) + 1e-9 >= $3
           THEN GREATEST(0, LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) - $3)
           ELSE LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) END,
         taken = LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) + 1e-9 >= $3,
         at_ms = GREATEST(b.at_ms, excluded.at_ms),
         full_ms = GREATEST(b.at_ms, excluded.at_ms) + ($4 - CASE WHEN LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) + 1e-9 >= $3
           THEN GREATEST(0, LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) - $3)
           ELSE LEAST($4, b.tokens + GREATEST(0, excluded.at_ms - b.at_ms) * $5 / 1000) END) * 1000 / $5
       RETURNING b.taken AS allowed, b.tokens AS after`,
      [ref.tenantId, ref.id, cost, limits.capacity, limits.refillPerSecond],
    );
    return bucketResult(rows[0]!.allowed, rows[0]!.after, cost, limits);
  }

  async consumeAll(buckets: readonly BucketDemand[], cost: number): Promise<BucketResult[]> {
    checkCost("PostgresBucketStore.consume", cost);
    const tenant = checkDemands("PostgresBucketStore.consume", buckets);
    if (new Set(buckets.map((b) => b.ref.id)).size !== buckets.length) throw new TypeError("PostgresBucketStore.consumeAll: a bucket is named twice");
    const rows = await this.#db.query<{ allowed: boolean; after: number[] }>(`SELECT * FROM ${this.#db.q}.bucket_take($1, $2, $3, $4, $5)`, [
      tenant,
      buckets.map((b) => b.ref.id),
      cost,
      buckets.map((b) => b.limits.capacity),
      buckets.map((b) => b.limits.refillPerSecond),
    ]);
    return resultsOf(rows[0]!.allowed, rows[0]!.after, cost, buckets);
  }
}

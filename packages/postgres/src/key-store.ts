import type { ApiKeyRecord, KeyStore } from "@alloovium/core";
import { laterTime, type KeyInsertOptions, type KeyInsertOutcome, type KeyListOptions, type KeyPatch, type KeyPatchResult } from "@alloovium/core/store-kit";
import { channelOf, Db, type PostgresStoreOptions } from "./pg";

/** Options of `PostgresKeyStore`. */
export type PostgresKeyStoreOptions = PostgresStoreOptions;

interface Row {
  record: ApiKeyRecord;
  last_used_at: string | null;
}

function ms(where: string, name: string, iso: string): number {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new TypeError(`${where}: \`${name}\` must be an ISO 8601 time`);
  return t;
}

/** The stored record with the later of its own `last_used_at` and the touched one. */
function recordOf(record: ApiKeyRecord, used: string | null): ApiKeyRecord {
  const last = laterTime(record.last_used_at, used);
  return last === (record.last_used_at ?? null) ? record : { ...record, last_used_at: last };
}

/**
 * API key records in PostgreSQL (`<schema>.api_keys`): a unique digest index for lookups, the
 * tenant's newest-first index for paged lists, and every write as one atomic statement (the
 * insert with its active-key cap, the patch with its rules: one successor per key, the first
 * revocation stands). Every write that changes a record notifies its digest on the schema's
 * channel in the same transaction, for `watchKeyInvalidations` on every instance.
 * @example
 * const keys = new PostgresKeyStore({ pool, schema: "alloovium" });
 * const record = await keys.findByDigest(digest);
 */
export class PostgresKeyStore implements KeyStore {
  readonly #db: Db;
  /** The channel writes notify on: `alloovium_keys_<schema>`. */
  readonly channel: string;

  constructor(options: PostgresKeyStoreOptions) {
    this.#db = new Db("PostgresKeyStore", options);
    this.channel = channelOf(this.#db.schema);
  }

  async findByDigest(digest: string): Promise<ApiKeyRecord | null> {
    if (typeof digest !== "string") return null;
    const rows = await this.#db.query<Row>(`SELECT record, last_used_at FROM ${this.#db.q}.api_keys WHERE digest = $1`, [digest]);
    return rows[0] ? recordOf(rows[0].record, rows[0].last_used_at) : null;
  }

  async get(tenantId: string, id: string): Promise<ApiKeyRecord | null> {
    const rows = await this.#db.query<Row>(`SELECT record, last_used_at FROM ${this.#db.q}.api_keys WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
    return rows[0] ? recordOf(rows[0].record, rows[0].last_used_at) : null;
  }

  async list(tenantId: string, options: KeyListOptions = {}): Promise<ApiKeyRecord[]> {
    const { limit, after } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new TypeError("PostgresKeyStore.list: `limit` must be an integer >= 1");
    const values: unknown[] = [tenantId];
    let where = "tenant_id = $1";
    if (after) {
      values.push(ms("PostgresKeyStore.list", "after.created_at", after.created_at), after.id);
      where += " AND (created_ms, id) < ($2, $3)";
    }
    let tail = "";
    if (limit !== undefined) {
      values.push(limit);
      tail = ` LIMIT $${values.length}`;
    }
    const rows = await this.#db.query<Row>(`SELECT record, last_used_at FROM ${this.#db.q}.api_keys WHERE ${where} ORDER BY created_ms DESC, id DESC${tail}`, values);
    return rows.map((r) => recordOf(r.record, r.last_used_at));
  }

  async put(record: ApiKeyRecord): Promise<void> {
    const c = columns("PostgresKeyStore.put", record);
    const rows = await this.#db.query<{ moved: boolean }>(
      `WITH old AS (SELECT tenant_id, digest FROM ${this.#db.q}.api_keys WHERE id = $2),
       up AS (
         INSERT INTO ${this.#db.q}.api_keys AS k (tenant_id, id, digest, created_ms, expires_ms, revoked, successor_id, last_used_at, last_used_ms, record)
         SELECT $1, $2, $3, $4::bigint, $5::bigint, $6::boolean, $7, $8, $9::double precision, $10::jsonb
         WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.tenant_id <> $1)
         ON CONFLICT (tenant_id, id) DO UPDATE SET digest = excluded.digest, created_ms = excluded.created_ms, expires_ms = excluded.expires_ms,
           revoked = excluded.revoked, successor_id = excluded.successor_id, record = excluded.record,
           last_used_at = CASE WHEN k.last_used_ms IS NULL OR (excluded.last_used_ms IS NOT NULL AND excluded.last_used_ms > k.last_used_ms) THEN excluded.last_used_at ELSE k.last_used_at END,
           last_used_ms = GREATEST(k.last_used_ms, excluded.last_used_ms)
         RETURNING 1
       ),
       n AS (SELECT pg_notify($11, d) FROM (SELECT $3::text AS d UNION SELECT digest FROM old) ds WHERE EXISTS (SELECT 1 FROM up))
       SELECT EXISTS (SELECT 1 FROM old WHERE old.tenant_id <> $1) AS moved, (SELECT count(*) FROM n) AS notified`,
      [...c, this.channel],
    );
    if (rows[0]?.moved) throw new Error("PostgresKeyStore.put: a key cannot move to another tenant");
  }

  async insert(record: ApiKeyRecord, options: KeyInsertOptions = {}): Promise<KeyInsertOutcome> {
    const c = columns("PostgresKeyStore.insert", record);
    const limit = options.activeLimit;
    if (limit !== undefined && (!Number.isSafeInteger(limit.max) || limit.max < 0 || !Number.isFinite(limit.nowMs))) {
      throw new TypeError("PostgresKeyStore.insert: `activeLimit` must be { max: an integer >= 0, nowMs: a time in ms }");
    }
    const rows = await this.#db.query<{ outcome: KeyInsertOutcome }>(
      `SELECT ${this.#db.q}.key_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) AS outcome`,
      [...c, limit ? limit.max : null, limit ? Math.floor(limit.nowMs) : null, this.channel],
    );
    return rows[0]!.outcome;
  }

  async touch(tenantId: string, id: string, at: string): Promise<void> {
    const t = ms("PostgresKeyStore.touch", "at", at);
    await this.#db.query(
      `UPDATE ${this.#db.q}.api_keys SET last_used_at = $3, last_used_ms = $4 WHERE tenant_id = $1 AND id = $2 AND (last_used_ms IS NULL OR last_used_ms < $4)`,
      [tenantId, id, at, t],
    );
  }

  async patch(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null> {
    const g = patch.ifUnchanged;
    const rows = await this.#db.query<{ r: { applied: boolean; record: ApiKeyRecord; last_used_at: string | null } | null }>(
      `SELECT ${this.#db.q}.key_patch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) AS r`,
      [
        tenantId,
        id,
        patch.name ?? null,
        patch.scopes === undefined ? null : [...patch.scopes],
        patch.revokedAt ?? null,
        patch.expiresBy ?? null,
        patch.expiresBy === undefined ? null : ms("PostgresKeyStore.patch", "expiresBy", patch.expiresBy),
        patch.successorId ?? null,
        g !== undefined,
        g ? g.expires_at : null,
        g ? g.revoked_at : null,
        g?.name ?? null,
        g?.scopes === undefined ? null : [...g.scopes],
        patch.ifScopesWithin === undefined ? null : [...patch.ifScopesWithin],
        this.channel,
      ],
    );
    const r = rows[0]?.r;
    if (!r) return null;
    return { applied: r.applied, record: recordOf(r.record, r.last_used_at) };
  }

  async removeUnused(tenantId: string, id: string, digest: string): Promise<boolean> {
    const rows = await this.#db.query(
      `WITH d AS (
         DELETE FROM ${this.#db.q}.api_keys WHERE tenant_id = $1 AND id = $2 AND digest = $3 AND last_used_ms IS NULL
           AND (record->>'last_used_at') IS NULL AND successor_id IS NULL AND NOT revoked
         RETURNING digest
       ) SELECT pg_notify($4, digest) FROM d`,
      [tenantId, id, digest, this.channel],
    );
    return rows.length > 0;
  }
}

/** The columns of a record, $1..$10 of the insert and the put. */
function columns(where: string, r: ApiKeyRecord): unknown[] {
  if (!r || typeof r !== "object" || typeof r.id !== "string" || typeof r.tenant_id !== "string" || typeof r.digest !== "string") {
    throw new TypeError(`${where}: a record needs string \`id\`, \`tenant_id\` and \`digest\``);
  }
  const used = r.last_used_at ?? null;
  return [
    r.tenant_id,
    r.id,
    r.digest,
    ms(where, "created_at", r.created_at),
    r.expires_at === null ? null : ms(where, "expires_at", r.expires_at),
    r.revoked_at !== null,
    r.successor_id ?? null,
    used,
    used === null ? null : ms(where, "last_used_at", used),
    JSON.stringify(r),
  ];
}

import { createHash } from "node:crypto";

/**
 * The part of node-postgres (`pg` 8) the stores use, typed here so that the package's types need
 * no `@types/pg`. A `pg.Pool` is one; a `pg.Client` is a `PgClient`.
 */
export interface PgQueryable {
  query(config: { text: string; values?: readonly unknown[]; name?: string; query_timeout?: number }): Promise<{ rows: any[]; rowCount: number | null }>;
}

/** A pooled client checked out with `pool.connect()`. */
export interface PgPoolClient extends PgQueryable {
  release(error?: Error | boolean): void;
}

/** The caller's `pg.Pool`. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
}

/** A dedicated `pg.Client` (the LISTEN feed holds one). */
export interface PgClient extends PgQueryable {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** The schema name rule: a plain lower-case identifier, so it needs no quoting rules of its own. */
export const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,39}$/;
export const DEFAULT_SCHEMA = "alloovium";

/** Throws a TypeError naming the factory unless `schema` follows the rule. */
export function checkSchema(where: string, schema: unknown): string {
  const s = schema ?? DEFAULT_SCHEMA;
  if (typeof s !== "string" || !SCHEMA_RE.test(s)) {
    throw new TypeError(`${where}: \`schema\` must be a lower-case identifier (a-z, 0-9, _; at most 40 characters; not starting with a digit)`);
  }
  return s;
}

/** Throws a TypeError unless `pool` looks like a `pg.Pool`. */
export function checkPool(where: string, pool: unknown): PgPool {
  const p = pool as Partial<PgPool> | undefined;
  if (!p || typeof p.query !== "function" || typeof p.connect !== "function") throw new TypeError(`${where}: \`pool\` must be a pg Pool`);
  return p as PgPool;
}

/** The channel key changes are notified on, for a schema. */
export const channelOf = (schema: string): string => `alloovium_keys_${schema}`;

/** The query-time limit every store call gets (ms), unless the caller sets another. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5000;

export function checkTimeout(where: string, v: unknown): number {
  if (v === undefined) return DEFAULT_QUERY_TIMEOUT_MS;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`${where}: \`queryTimeoutMs\` must be a positive number of milliseconds`);
  return v;
}

/** Options every PostgreSQL store takes. */
export interface PostgresStoreOptions {
  /** The caller's `pg.Pool`. */
  readonly pool: PgPool;
  /** The schema `migrate` created the tables in. @default "alloovium" */
  readonly schema?: string;
  /** How long one query may take before it fails. @default 5000 */
  readonly queryTimeoutMs?: number;
}

/** A store's checked connection: pool, schema (quoted for SQL) and timeout. */
export class Db {
  readonly pool: PgPool;
  readonly schema: string;
  /** `"schema"`: for SQL text. */
  readonly q: string;
  readonly timeoutMs: number;
  constructor(where: string, options: PostgresStoreOptions | undefined) {
    if (!options || typeof options !== "object") throw new TypeError(`${where}: options are required`);
    this.pool = checkPool(where, options.pool);
    this.schema = checkSchema(where, options.schema);
    this.q = `"${this.schema}"`;
    this.timeoutMs = checkTimeout(where, options.queryTimeoutMs);
  }
  readonly #names = new Map<string, string>();
  /**
   * One statement, prepared once per connection under a name derived from its text (the
   * stores' statements are a fixed set): the server parses and plans it once, not on every call.
   */
  async query<T = any>(text: string, values: readonly unknown[]): Promise<T[]> {
    let name = this.#names.get(text);
    if (name === undefined) {
      name = `alloovium_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
      this.#names.set(text, name);
    }
    const r = await this.pool.query({ name, text, values, query_timeout: this.timeoutMs });
    return r.rows as T[];
  }
}

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
  /** The backend's process id (node-postgres sets it once connected): what a cancel names. */
  readonly processID?: number | null;
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
  /**
   * One statement, unnamed (parsed on every call: a named prepared statement would outlive a
   * migration that changes a function's result type and fail with `cached plan must not change
   * result type` until the connection closes), on a client checked out of the pool (what
   * `pool.query` does too). When the client's `query_timeout` fires, the statement may still be
   * running on the server (node-postgres only stops waiting, and the pool destroys the client):
   * its backend is sent a cancel (`pg_cancel_backend`, only while it still runs this statement),
   * and the error is an `UnknownOutcomeError`, never taken for "nothing happened".
   */
  async query<T = any>(text: string, values: readonly unknown[]): Promise<T[]> {
    const client = await this.pool.connect();
    let failed: Error | undefined;
    try {
      const r = await client.query({ text, values, query_timeout: this.timeoutMs });
      return r.rows as T[];
    } catch (e) {
      failed = e instanceof Error ? e : new Error(String(e));
      if (isClientTimeout(e)) {
        const pid = client.processID;
        if (typeof pid === "number") {
          // On another connection: the one that timed out is destroyed by the release below.
          this.pool.query({ text: "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query = $2", values: [pid, text], query_timeout: this.timeoutMs }).catch(() => {});
        }
        throw new UnknownOutcomeError(e);
      }
      throw e;
    } finally {
      client.release(failed);
    }
  }
}

/** A statement given up on by the client: it may have been applied, or may still be. */
export class UnknownOutcomeError extends Error {
  constructor(cause: unknown) {
    super(`PostgreSQL did not answer in time; the statement's outcome is unknown (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    this.name = "UnknownOutcomeError";
  }
}

/** node-postgres' own `query_timeout` (the server may still run the statement). */
export function isClientTimeout(e: unknown): boolean {
  return e instanceof Error && e.message === "Query read timeout";
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "57P01", "57P02", "57P03"]);

/**
 * Whether an error says PostgreSQL could not be reached or dropped the connection (SQLSTATE
 * class 08, 57P01-57P03, a socket error, the pool's connect timeout, a connection ended): the
 * only failures an admission may fail open on. Anything else (a missing function, a permission,
 * a cancelled statement, a client timeout) is a 503.
 */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || CONNECTION_CODES.has(code))) return true;
  return /^(timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable)$/.test(e.message);
}

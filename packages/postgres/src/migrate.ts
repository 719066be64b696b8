import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkPool, checkSchema, type PgPool } from "./pg";

/** One versioned migration shipped with the package. */
export interface Migration {
  /** `001`, `002`, ...: applied in this order, each once. */
  readonly version: string;
  readonly name: string;
  readonly sql: string;
}

/** Where the package's `.sql` files are: `migrations/` beside `src/` or `dist/`. */
function migrationsDir(): string {
  // ESM has import.meta.url; the CommonJS build has __dirname.
  const here = typeof __dirname === "string" ? __dirname : dirname(fileURLToPath(import.meta.url));
  return join(here, "..", "migrations");
}

/**
 * The migrations shipped in the package, oldest first, for a schema (its name substituted).
 * @example for (const m of migrations("alloovium")) console.log(m.version, m.name);
 */
export function migrations(schema = "alloovium"): Migration[] {
  const s = checkSchema("migrations", schema);
  const dir = migrationsDir();
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: f.slice(0, 3), name: f.slice(4, -4), sql: readFileSync(join(dir, f), "utf8").replaceAll("{{schema}}", `"${s}"`) }));
}

/** Options of `migrate`. */
export interface MigrateOptions {
  /** The schema to create and migrate (a lower-case identifier). @default "alloovium" */
  readonly schema?: string;
  /** Told of each migration applied. */
  readonly onApplied?: (migration: Migration) => void;
}

/** What `migrate` did. */
export interface MigrateResult {
  /** Versions this call applied (empty when the schema was up to date). */
  readonly applied: readonly string[];
  /** The schema's version afterwards. */
  readonly version: string;
}

/**
 * Brings a schema up to the package's newest migration: creates the schema, then applies each
 * migration not yet recorded in `<schema>.alloovium_migrations`, each in its own transaction,
 * all under a session advisory lock so that many instances starting at once migrate once (the
 * others wait, then find nothing to do). Safe to call at every start.
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await migrate(pool, { schema: "alloovium" });
 */
export async function migrate(pool: PgPool, options: MigrateOptions = {}): Promise<MigrateResult> {
  checkPool("migrate", pool);
  const schema = checkSchema("migrate", options.schema);
  if (options.onApplied !== undefined && typeof options.onApplied !== "function") throw new TypeError("migrate: `onApplied` must be a function");
  const all = migrations(schema);
  const client = await pool.connect();
  const q = `"${schema}"`;
  const lock = `alloovium-migrate:${schema}`;
  let broken: Error | undefined;
  try {
    // The pool's own limits (a statement_timeout below the stores' query timeout, as the README
    // recommends) would cut the wait for the lock short and fail every instance but the first:
    // none on this connection while it migrates; reset before it goes back to the pool.
    await client.query({ text: "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0" });
    await client.query({ text: "SELECT pg_advisory_lock(hashtextextended($1, 0))", values: [lock] });
    try {
      await client.query({ text: `CREATE SCHEMA IF NOT EXISTS ${q}` });
      await client.query({
        text: `CREATE TABLE IF NOT EXISTS ${q}.alloovium_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      });
      const done = new Set((await client.query({ text: `SELECT version FROM ${q}.alloovium_migrations` })).rows.map((r: { version: string }) => r.version));
      const applied: string[] = [];
      for (const m of all) {
        if (done.has(m.version)) continue;
        await client.query({ text: "BEGIN" });
        try {
          await client.query({ text: m.sql });
          await client.query({ text: `INSERT INTO ${q}.alloovium_migrations (version, name) VALUES ($1, $2)`, values: [m.version, m.name] });
          await client.query({ text: "COMMIT" });
        } catch (e) {
          await client.query({ text: "ROLLBACK" }).catch(() => {});
          throw new Error(`migrate: migration ${m.version}_${m.name} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        applied.push(m.version);
        options.onApplied?.(m);
      }
      const version = [...done, ...applied].sort().at(-1) ?? "";
      return { applied, version };
    } finally {
      await client.query({ text: "SELECT pg_advisory_unlock(hashtextextended($1, 0))", values: [lock] }).catch((e: Error) => (broken = e));
      await client.query({ text: "RESET statement_timeout; RESET lock_timeout; RESET idle_in_transaction_session_timeout" }).catch((e: Error) => (broken = e));
    }
  } catch (e) {
    broken ??= e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    client.release(broken);
  }
}

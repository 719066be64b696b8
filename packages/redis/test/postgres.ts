/**
 * PostgreSQL for the tests and the bench of Redis in front of it. The Redis package depends on
 * `CreditLedger` only; its tests take `@alloovium/postgres` from the workspace source by path (a
 * devDependency would make a cycle: the PostgreSQL package tests against Redis). The server is
 * found as the PostgreSQL package's tests find it: DATABASE_URL, else 127.0.0.1:5432 (database
 * `test`), else a throwaway server (under CI=true a missing PostgreSQL fails the run); each use
 * gets a migrated schema of its own, dropped by `close`.
 */
import pg from "pg";
import { migrate, PostgresKeyStore, PostgresLedger } from "../../postgres/src/index";
import { databaseUrl, dropSchema, schemaName, stopSharedServer, ThrowawayServer } from "../../postgres/test/pg-server";

export { PostgresKeyStore, PostgresLedger, ThrowawayServer };
export { watchKeyInvalidations as watchPostgresKeyInvalidations } from "../../postgres/src/index";

/** A migrated schema of its own on the run's PostgreSQL (or on `url`). */
export interface TestPostgres {
  readonly url: string;
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly version: string;
  ledger(): PostgresLedger;
  keys(): PostgresKeyStore;
  /** Drops the schema and ends the pool (and stops a throwaway server this run started). */
  close(): Promise<void>;
}

export async function postgres(what: string, url?: string): Promise<TestPostgres> {
  const u = url ?? (await databaseUrl());
  const pool = new pg.Pool({ connectionString: u, max: 10 });
  pool.on("error", () => {});
  const schema = schemaName(what);
  await migrate(pool, { schema });
  const version = ((await pool.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "?").split(" ")[0]!;
  return {
    url: u,
    pool,
    schema,
    version,
    ledger: () => new PostgresLedger({ pool, schema }),
    keys: () => new PostgresKeyStore({ pool, schema }),
    async close() {
      await dropSchema(pool, schema).catch(() => {});
      await pool.end();
      if (url === undefined) stopSharedServer();
    },
  };
}

import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { migrate } from "../src/migrate";
import { dropSchema, schemaName } from "./pg-server";

/** The run's PostgreSQL URL (from the global setup). */
export const testUrl = (): string => inject("databaseUrl");

/**
 * A pool and a migrated schema of this file's own, dropped after the file: `use().pool`,
 * `use().schema` inside tests.
 */
export function useSchema(what: string, poolOptions: pg.PoolConfig = {}): () => { pool: pg.Pool; schema: string } {
  const schema = schemaName(what);
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testUrl(), max: 10, ...poolOptions });
    pool.on("error", () => {});
    await migrate(pool, { schema });
  });
  afterAll(async () => {
    if (!pool) return;
    await dropSchema(pool, schema).catch(() => {});
    await pool.end();
  });
  return () => ({ pool: pool!, schema });
}

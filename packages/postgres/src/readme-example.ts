import { createKeyHasher, createPolicy, defineCapability } from "@alloovium/core";
import { connectPostgresStores } from "@alloovium/postgres";
import pg from "pg";

export const listProjects = defineCapability({
  id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: ["vault:read"], cost: 1, credits: 1, idempotent: true,
});

/** Every store in PostgreSQL: migrated at start, key changes heard from every instance. */
export async function startPolicy(databaseUrl: string, schema = "alloovium") {
  // statement_timeout below the stores' queryTimeoutMs (5 s): the server gives up on a query before the stores do.
  const pool = new pg.Pool({ connectionString: databaseUrl, statement_timeout: 2000 });
  pool.on("error", () => {}); // an idle client cut by a server restart: the next query takes a new one
  const postgres = await connectPostgresStores({
    pool,
    schema,                                                        // migrate(pool, { schema }) runs first
    listener: () => new pg.Client({ connectionString: databaseUrl, keepAlive: true }), // LISTEN for key changes
    failure: { localShareOf: 4 },                                  // 4 instances: each its share when PostgreSQL fails
  });
  const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env.ALLOOVIUM_KEY_PEPPER ?? "a-development-pepper-only!" }] });
  const policy = createPolicy({ environment: "live", keyHasher, stores: postgres.stores });
  await postgres.watch(policy.keyCache);                           // a revocation reaches every instance in milliseconds
  const close = async () => {
    await postgres.close();
    await pool.end();
  };
  return { policy, stores: postgres.stores, keyHasher, close };
}

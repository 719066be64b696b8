/**
 * PostgreSQL for the tests and the bench of Redis in front of it. The Redis package depends on
 * `CreditLedger` only; its tests take `@alloovium/postgres` from the workspace source by path (a
 * devDependency would make a cycle: the PostgreSQL package tests against Redis). The server is
 * found as the PostgreSQL package's tests find it: DATABASE_URL, else 127.0.0.1:5432 (database
 * `test`), else a throwaway server (under CI=true a missing PostgreSQL fails the run); each use
 * gets a migrated schema of its own, dropped by `close`.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import pg from "pg";
import { migrate, PostgresKeyStore, PostgresLedger } from "../../postgres/src/index";
import { databaseUrl, dropSchema, schemaName, stopSharedServer } from "../../postgres/test/pg-server";

export { PostgresKeyStore, PostgresLedger };
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

/**
 * A migrated schema of its own on the run's PostgreSQL. With `through`, the stores' pool connects
 * through that URL (a `PgProxy`) while the schema is made and dropped directly.
 */
export async function postgres(what: string, through?: (url: string) => Promise<string>): Promise<TestPostgres> {
  const direct = await databaseUrl();
  const u = through ? await through(direct) : direct;
  const admin = new pg.Pool({ connectionString: direct, max: 2 });
  admin.on("error", () => {});
  const pool = u === direct ? admin : new pg.Pool({ connectionString: u, max: 10, connectionTimeoutMillis: 2000 });
  pool.on("error", () => {});
  const schema = schemaName(what);
  await migrate(admin, { schema });
  const version = ((await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "?").split(" ")[0]!;
  return {
    url: u,
    pool,
    schema,
    version,
    ledger: () => new PostgresLedger({ pool, schema }),
    keys: () => new PostgresKeyStore({ pool, schema }),
    async close() {
      await dropSchema(admin, schema).catch(() => {});
      if (pool !== admin) await pool.end();
      await admin.end();
      stopSharedServer();
    },
  };
}

/**
 * A TCP proxy in front of the run's PostgreSQL, for "PostgreSQL down" without stopping a shared
 * server (and without `initdb`, which refuses to run as root): `down()` cuts every connection
 * and refuses new ones (the port stays closed), `up()` listens again on the same port.
 */
export class PgProxy {
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  port = 0;

  private constructor(target: string) {
    this.#target = new URL(target);
  }

  static async start(target: string): Promise<PgProxy> {
    const p = new PgProxy(target);
    await p.up();
    return p;
  }

  /** The target's URL with the proxy's port. */
  get url(): string {
    const u = new URL(this.#target.href);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.href;
  }

  up(): Promise<void> {
    if (this.#server) return Promise.resolve();
    const server = createServer((client) => {
      const upstream = connect(Number(this.#target.port || 5432), this.#target.hostname === "localhost" ? "127.0.0.1" : this.#target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on("close", () => this.#sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        const a = server.address();
        if (a && typeof a === "object") this.port = a.port;
        resolve();
      });
    });
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

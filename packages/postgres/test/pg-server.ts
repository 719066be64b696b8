/**
 * Test helpers: the PostgreSQL a run uses (DATABASE_URL, else 127.0.0.1:5432 user postgres db
 * test, else a throwaway server started from `pg_config --bindir`), a schema per run, and
 * throwaway servers (initdb + pg_ctl in a temp dir, own port) for the fault tests. Nothing sleeps
 * for a fixed time: every wait polls against a deadline.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, sleep, waitFor } from "../../redis/test/redis-server";

// The same polling helpers as the Redis harness (sleep waits at least `ms`; waitFor polls against a deadline).
export { freePort, sleep, waitFor };

/** Answers `SELECT 1` within `ms`? */
export async function answers(url: string, ms = 2000): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: ms });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** The directory of PostgreSQL's programs (initdb, pg_ctl), or null when none is installed. */
export function pgBinDir(): string | null {
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user (Debian's
 * packages create it), which then owns the server's directory.
 */
function asServerUser(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return null;
  const uid = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (uid.status !== 0 || gid.status !== 0) throw new Error("running as root, and there is no `postgres` user to run a throwaway PostgreSQL server as");
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs one of PostgreSQL's programs (as the `postgres` user when this process is root). */
function runProgram(bin: string, program: string, args: readonly string[]) {
  const user = asServerUser();
  return spawnSync(join(bin, program), args, { encoding: "utf8", ...(user ? { uid: user.uid, gid: user.gid } : {}) });
}

/** A throwaway PostgreSQL server of a test's own: a temp data directory and port, trust auth. */
export class ThrowawayServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  readonly #bin: string;

  private constructor(bin: string, port: number, dir: string) {
    this.#bin = bin;
    this.port = port;
    this.dir = dir;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  /** initdb + start; throws with the reason when PostgreSQL's programs are missing or fail. */
  static async start(): Promise<ThrowawayServer> {
    const bin = pgBinDir();
    if (!bin) throw new Error("no PostgreSQL programs: `pg_config --bindir` failed (install postgresql)");
    const dir = mkdtempSync(join(tmpdir(), "alloovium-pg-"));
    const user = asServerUser();
    if (user) {
      chownSync(dir, user.uid, user.gid);
      chmodSync(dir, 0o700);
    }
    const init = runProgram(bin, "initdb", ["-D", join(dir, "data"), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
    const server = new ThrowawayServer(bin, await freePort(), dir);
    await server.resume();
    return server;
  }

  /** Starts (or restarts) the server on its port and waits until it answers. */
  async resume(): Promise<void> {
    const r = runProgram(
      this.#bin,
      "pg_ctl",
      ["-D", join(this.dir, "data"), "-l", join(this.dir, "log"), "-w", "-t", "60", "-o", `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"],
    );
    if (r.status !== 0) throw new Error(`pg_ctl start failed: ${r.stderr || r.stdout}`);
    await waitFor("the throwaway PostgreSQL", () => answers(this.url), 60_000, 100);
  }

  /** Stops the server (fast: open connections are cut). */
  stop(): void {
    runProgram(this.#bin, "pg_ctl", ["-D", join(this.dir, "data"), "-m", "fast", "-w", "-t", "60", "stop"]);
  }

  /** Stops it and deletes its directory. */
  destroy(): void {
    this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let shared: ThrowawayServer | undefined;

/**
 * The URL of the run's PostgreSQL: DATABASE_URL, else the machine's at 127.0.0.1:5432 (user
 * postgres, database test), else a throwaway server (stopped by `stopSharedServer`). Under
 * CI=true a missing PostgreSQL fails with a clear message instead of a throwaway server.
 */
export async function databaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) {
    if (!(await answers(process.env.DATABASE_URL, 5000))) throw new Error(`PostgreSQL at DATABASE_URL does not answer (${redact(process.env.DATABASE_URL)})`);
    return process.env.DATABASE_URL;
  }
  const local = "postgres://postgres@127.0.0.1:5432/test";
  if (await answers(local, 3000)) return local;
  if (process.env.CI === "true") {
    throw new Error("CI=true: no PostgreSQL at 127.0.0.1:5432 (user postgres, database test) and no DATABASE_URL: the PostgreSQL tests need a real server");
  }
  shared ??= await ThrowawayServer.start();
  return shared.url;
}

export function stopSharedServer(): void {
  shared?.destroy();
  shared = undefined;
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, "//***@");

/** A fresh schema name for one test file's run. */
export const schemaName = (what: string): string => `t_${what}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

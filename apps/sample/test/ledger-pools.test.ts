/**
 * The ledger's pools of the Redis-in-front-of-PostgreSQL set-up: the flush's appends and the
 * request path's loads on pools of their own, each statement bounded on the server.
 */
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { ledgerPools } from "../src/stores";

describe("ledgerPools", () => {
  it("gives the flush and the loads pools of their own, with a statement_timeout on the server below the flush's lease", async () => {
    const lines: string[] = [];
    const pools = ledgerPools(pg.Pool, inject("databaseUrl"), (l) => void lines.push(l));
    try {
      expect(pools.flush).not.toBe(pools.load);
      expect((await pools.flush.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]?.statement_timeout).toBe("5s");
      expect((await pools.load.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]?.statement_timeout).toBe("2s");
      // A statement longer than the bound is cancelled by PostgreSQL itself.
      await expect(pools.load.query("SELECT pg_sleep(3)")).rejects.toThrow(/statement timeout/);
      expect(pools.flush.options.max + pools.load.options.max).toBe(4);
    } finally {
      await Promise.all([pools.flush.end(), pools.load.end()]);
    }
  });
});

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { mintApiKey, policyRequest } from "@alloovium/core/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { testUrl } from "../test/helpers";
import { dropSchema, schemaName } from "../test/pg-server";
import { listProjects, startPolicy } from "./readme-example";

describe("README", () => {
  it("quotes src/readme-example.ts verbatim", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8");
    expect(readme).toContain(example.trim());
  });

  it("the example migrates, authenticates, charges in PostgreSQL and records the charge in the ledger", async () => {
    const schema = schemaName("readme");
    const { policy, stores, keyHasher, close } = await startPolicy(testUrl(), schema);
    try {
      const { key, record } = await mintApiKey(stores.keys, keyHasher, { environment: "live", scopes: ["vault:read"], tenantId: randomUUID() });
      const d = await policy.decide(policyRequest({ path: listProjects.path, key }), listProjects);
      expect(d.kind).toBe("continue");
      if (d.kind === "continue") await d.commit({ status: 200, headers: {}, body: "[]" });
      expect(await stores.credits.balance(record.tenant_id, 100_000)).toBe(99_999);
      expect((await stores.ledger.entries(record.tenant_id)).map((e) => [e.kind, e.amount])).toEqual([["grant", 100_000], ["charge", -1]]);
    } finally {
      await close();
      const pool = new pg.Pool({ connectionString: testUrl() });
      await dropSchema(pool, schema);
      await pool.end();
    }
  });
});

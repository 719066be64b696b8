import { execFile } from "node:child_process";
import { connect, createServer } from "node:net";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createKeyHasher, createVerifiedKeyCache } from "@alloovium/core";
import { mintApiKey, TEST_PEPPER } from "@alloovium/core/testing";
import fc from "fast-check";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { testUrl, useSchema } from "../test/helpers";
import { dropSchema, schemaName, sleep, waitFor } from "../test/pg-server";
import { connectPostgresStores, createPostgresStores, migrate, migrations, PostgresLedger, watchKeyInvalidations } from "./index";

const use = useSchema("stores");
const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
const limits = { capacity: 100, refillPerSecond: 1 };

describe("migrate", () => {
  it("ships versioned migrations and applies none a second time", async () => {
    expect(migrations().map((m) => m.version)).toEqual(["001", "002", "003", "004", "005"]);
    expect(await migrate(use().pool, { schema: use().schema })).toEqual({ applied: [], version: "005" });
  });

  it("refuses a schema name that is not a plain lower-case identifier", async () => {
    await expect(migrate(use().pool, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(TypeError);
    expect(() => createPostgresStores({ pool: use().pool, schema: "Upper" })).toThrow(/schema/);
    expect(() => createPostgresStores({ pool: {} as never })).toThrow(/pool/);
  });

  it("migrates from the command line, and says how to call it when called wrong", async () => {
    const schema = schemaName("cli");
    const cli = [join(here, "cli.ts"), "migrate", "--schema", schema, "--url", testUrl()];
    try {
      const first = await run(process.execPath, ["--import", "tsx", ...cli], { cwd: join(here, "..") });
      expect(first.stdout).toMatch(/applied 001_keys[\s\S]*schema t_cli_\w+ at version 005\n$/);
      const again = await run(process.execPath, ["--import", "tsx", ...cli], { cwd: join(here, "..") });
      expect(again.stdout).toMatch(/at version 005 \(up to date\)/);
      await expect(run(process.execPath, ["--import", "tsx", join(here, "cli.ts"), "migrat"], { cwd: join(here, "..") })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^usage: alloovium-postgres migrate/) });
    } finally {
      await dropSchema(use().pool, schema);
    }
  });
});

describe("PostgresCreditStore and PostgresLedger", () => {
  it("refunds a named charge at most once and never more than it took; the balance stays the sum of the ledger", async () => {
    const { credits, ledger } = createPostgresStores(use());
    const tenantId = randomUUID();
    const reservation = randomUUID();
    const c = await credits.charge({ tenantId, capability: "a.b", credits: 5, grant: 20, reservation });
    expect(c).toMatchObject({ allowed: true, balance: 15, charged: 5 });
    const refund = { tenantId, capability: "a.b", credits: 9, hour: c.hour, grant: 20, reservation };
    expect(await credits.refund(refund)).toBe(20); // 5 back, not 9
    expect(await credits.refund(refund)).toBe(20); // a second refund gives nothing
    expect(await credits.refund({ ...refund, reservation: randomUUID() })).toBe(20); // names no charge: nothing
    // A reservation is charged once.
    expect(await credits.charge({ tenantId, capability: "a.b", credits: 5, grant: 20, reservation })).toMatchObject({ charged: 0, balance: 20 });
    expect(await credits.add(tenantId, 30, 20)).toBe(50);
    const entries = await ledger.entries(tenantId);
    expect(entries.map((e) => [e.kind, e.amount])).toEqual(expect.arrayContaining([["grant", 20], ["charge", -5], ["refund", 5], ["topup", 30]]));
    expect(entries).toHaveLength(4);
    expect(entries.reduce((s, e) => s + e.amount, 0)).toBe(await ledger.balance(tenantId));
    expect(await credits.usage(tenantId, 0)).toEqual([{ hour: c.hour, capability: "a.b", calls: 1, credits: 0 }]);
  });

  it("appends a batch once however often it is retried, a refund counted in its charge's hour and capped at it", async () => {
    const { ledger, credits } = createPostgresStores(use());
    const tenantId = randomUUID();
    expect(await ledger.balance(tenantId)).toBeNull();
    const hour = Date.parse("2026-04-02T10:00:00Z");
    const r1 = randomUUID();
    const r2 = randomUUID();
    const batch = [
      { id: `grant:${tenantId}`, tenantId, kind: "grant" as const, amount: 100, capability: null, reservation: null, at: hour + 1 },
      { id: r1, tenantId, kind: "charge" as const, amount: -3, capability: "a.b", reservation: r1, at: hour + 10 },
      { id: r2, tenantId, kind: "charge" as const, amount: -2, capability: "a.b", reservation: r2, at: hour + 20 },
      // Refunded an hour later: still counted in the charge's hour; 9 asked, 3 given.
      { id: `refund:${r1}`, tenantId, kind: "refund" as const, amount: 9, capability: "a.b", reservation: r1, at: hour + 3_600_000 + 5 },
    ];
    await ledger.append(batch);
    await ledger.append(batch);
    await Promise.all([ledger.append(batch), ledger.append(batch.slice(1))]);
    expect(await ledger.balance(tenantId)).toBe(98);
    expect(await credits.balance(tenantId, 100_000)).toBe(98);
    const entries = await ledger.entries(tenantId);
    expect(entries).toHaveLength(4);
    expect(entries.find((e) => e.kind === "refund")?.amount).toBe(3);
    const rows = (await use().pool.query(`SELECT hour_ms, calls, credits FROM "${use().schema}".credit_usage WHERE tenant_id = $1`, [tenantId])).rows;
    expect(rows.map((r) => [Number(r.hour_ms), Number(r.calls), Number(r.credits)])).toEqual([[hour, 2, 2]]);
    // A refund flushed before its charge is still recorded.
    const r3 = randomUUID();
    await ledger.append([{ id: `refund:${r3}`, tenantId, kind: "refund", amount: 4, capability: "a.b", reservation: r3, at: hour + 30 }]);
    await ledger.append([{ id: r3, tenantId, kind: "charge", amount: -4, capability: "a.b", reservation: r3, at: hour + 25 }]);
    expect(await ledger.balance(tenantId)).toBe(98);
  });

  it("refuses a refund that names no charge, and the balance never rises above what was granted and added", async () => {
    const { credits, ledger } = createPostgresStores(use());
    const tenantId = randomUUID();
    const c = await credits.charge({ tenantId, capability: "a.b", credits: 5, grant: 20, reservation: randomUUID() });
    const unnamed = { tenantId, capability: "a.b", credits: 50, hour: c.hour, grant: 20 };
    await expect(credits.refund(unnamed)).rejects.toThrow(TypeError);
    await expect(credits.refund({ ...unnamed, reservation: "" })).rejects.toThrow(/reservation/);
    expect(await credits.balance(tenantId, 20)).toBe(15);
    // Even called in SQL directly, the function gives nothing back without a reservation.
    const { pool, schema } = use();
    await pool.query(`SELECT "${schema}".credit_refund($1, 'a.b', 50, $2, 20, NULL)`, [tenantId, c.hour]);
    await pool.query(`SELECT "${schema}".credit_refund($1, 'a.b', 50, $2, 20, NULL)`, [tenantId, c.hour]);
    expect(await credits.balance(tenantId, 20)).toBe(15);
    const entries = await ledger.entries(tenantId);
    expect(entries.filter((e) => e.kind === "refund")).toEqual([]);
    expect(entries.every((e) => e.kind !== "refund" || e.reservation !== null)).toBe(true);
  });

  it("appends at most one refund per charge, never above it, also when it comes before its charge or under another id", async () => {
    const { ledger } = createPostgresStores(use());
    const tenantId = randomUUID();
    const at = Date.parse("2026-04-02T10:00:00Z");
    const r = randomUUID();
    const grant = { id: `grant:${tenantId}`, tenantId, kind: "grant" as const, amount: 10, capability: null, reservation: null, at };
    const charge = { id: r, tenantId, kind: "charge" as const, amount: -3, capability: "a.b", reservation: r, at: at + 1 };
    const refund = { id: `refund:${r}`, tenantId, kind: "refund" as const, amount: 50, capability: "a.b", reservation: r, at: at + 2 };
    // The refund first (held back: its charge is not known), then the grant and the charge.
    await ledger.append([refund]);
    expect(await ledger.balance(tenantId)).toBeNull();
    await ledger.append([grant, charge]);
    expect(await ledger.balance(tenantId)).toBe(10); // 10 - 3 + 3: the refund capped at its charge
    // The same refund again, under another id, and twice in one batch: nothing more.
    await ledger.append([{ ...refund, id: `other:${r}` }, { ...refund, id: `again:${r}` }]);
    await ledger.append([refund]);
    expect(await ledger.balance(tenantId)).toBe(10);
    const entries = await ledger.entries(tenantId);
    expect(entries.map((e) => [e.kind, e.amount])).toEqual([["grant", 10], ["charge", -3], ["refund", 3]]);
    expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(10);
  });

  it("opens a tenant first seen through the ledger from its grant entry, holds its entries until the grant comes, and never goes below zero", async () => {
    const { ledger, credits } = createPostgresStores(use());
    const tenantId = randomUUID();
    const at = Math.floor(Date.now() / 3_600_000) * 3_600_000; // this hour: usage answers it
    const charges = [randomUUID(), randomUUID(), randomUUID()].map((id, i) => ({ id, tenantId, kind: "charge" as const, amount: -4, capability: "a.b", reservation: id, at: at + 10 + i }));
    // Charges of a tenant without a grant: no balance from nothing (it would be negative).
    await ledger.append(charges.slice(0, 1));
    expect(await ledger.balance(tenantId)).toBeNull();
    expect(await ledger.entries(tenantId)).toEqual([]);
    // The grant arrives with more charges: opened at it, every charge applied, never below zero.
    await ledger.append([...charges.slice(1), { id: `grant:${tenantId}`, tenantId, kind: "grant", amount: 10, capability: null, reservation: null, at }]);
    const entries = await ledger.entries(tenantId);
    expect(entries.map((e) => e.kind)).toEqual(["grant", "charge", "charge", "charge"]);
    expect(await ledger.balance(tenantId)).toBe(0);
    expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(0);
    expect(entries.map((e) => e.amount)).toEqual([10, -4, -4, -2]); // the third took what was left
    expect(await credits.usage(tenantId, 0)).toEqual([{ hour: at, capability: "a.b", calls: 3, credits: 10 }]);
  });

  it("refuses entries that break the ledger's rules, naming them, and records nothing of the batch", async () => {
    const ledger = new PostgresLedger(use());
    const tenantId = randomUUID();
    const ok = { id: "t1", tenantId, kind: "topup" as const, amount: 5, capability: null, reservation: null, at: 1 };
    await expect(ledger.append([ok, { ...ok, id: "c1", kind: "charge", amount: 3 }])).rejects.toThrow(/entry 1: `amount`/);
    await expect(ledger.append([{ ...ok, kind: "refund", amount: 1 }])).rejects.toThrow(/reservation/);
    await expect(ledger.append([{ ...ok, kind: "bonus" as never }])).rejects.toThrow(/kind/);
    expect(await ledger.balance(tenantId)).toBeNull();
  });
});

describe("the ledger's invariants", () => {
  it("keeps every balance equal to the sum of its entries, and usage equal to what the entries say, under concurrent mixed operations", async () => {
    const { pool, schema } = use();
    const op = fc.oneof(
      fc.record({ kind: fc.constant("charge" as const), tenant: fc.integer({ min: 0, max: 2 }), credits: fc.integer({ min: 0, max: 9 }), refund: fc.boolean() }),
      fc.record({ kind: fc.constant("topup" as const), tenant: fc.integer({ min: 0, max: 2 }), credits: fc.integer({ min: 1, max: 20 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const { credits, ledger } = createPostgresStores({ pool, schema });
        const tenants = [randomUUID(), randomUUID(), randomUUID()];
        await Promise.all(
          ops.map(async (o) => {
            const tenantId = tenants[o.tenant]!;
            if (o.kind === "topup") return credits.add(tenantId, o.credits, 30);
            const reservation = randomUUID();
            const c = await credits.charge({ tenantId, capability: `cap.${o.credits % 2}`, credits: o.credits, grant: 30, reservation });
            if (o.refund && c.allowed) await credits.refund({ tenantId, capability: `cap.${o.credits % 2}`, credits: c.charged, hour: c.hour, grant: 30, reservation });
            return undefined;
          }),
        );
        for (const tenantId of tenants) {
          const entries = await ledger.entries(tenantId);
          const balance = await ledger.balance(tenantId);
          if (entries.length === 0) {
            expect(balance).toBeNull();
            continue;
          }
          expect(entries.reduce((sum, e) => sum + e.amount, 0)).toBe(balance);
          expect(balance).toBeGreaterThanOrEqual(0);
          const fromEntries = (await pool.query(
            `SELECT hour_ms, capability, count(*) FILTER (WHERE kind = 'charge') AS calls, -sum(amount) AS credits FROM "${schema}".credit_ledger
              WHERE tenant_id = $1 AND kind IN ('charge', 'refund') GROUP BY hour_ms, capability ORDER BY hour_ms, capability COLLATE "C"`,
            [tenantId],
          )).rows.map((r) => ({ hour: Number(r.hour_ms), capability: r.capability, calls: Number(r.calls), credits: Number(r.credits) }));
          expect(await credits.usage(tenantId, 0)).toEqual(fromEntries);
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe("PostgresAdmission", () => {
  it("replays a completed claim at 0 credits, and a short balance gives back the claim it just made", async () => {
    const stores = createPostgresStores(use());
    const tenantId = randomUUID();
    const bucket = { tenantId, id: "key:a" };
    const ref = { tenantId, scope: "u:live", key: randomUUID() };
    const charge = { capability: "vault.projects.create", credits: 3, grant: 5 };
    const first = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 }, charge: { ...charge, reservation: randomUUID() } });
    expect(first.credits).toMatchObject({ outcome: "charged", balance: 2, credits: 3 });
    if (first.claim?.outcome !== "claimed") throw new Error("expected a claim");
    expect(await stores.idempotency.complete(ref, first.claim.token, { status: 201, headers: {}, body: "{}" }, { ttlMs: 60_000 })).toBe(true);
    const replay = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 }, charge: { ...charge, reservation: randomUUID() } });
    expect(replay.claim).toMatchObject({ outcome: "completed", response: { status: 201, body: "{}" } });
    expect(replay.credits).toMatchObject({ outcome: "charged", credits: 0, balance: 2 });
    const other = { ...ref, key: randomUUID() };
    const short = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: other, fingerprint: "fp", leaseMs: 60_000 }, charge: { ...charge, reservation: randomUUID() } });
    expect(short).toMatchObject({ bucket: { allowed: true }, credits: { outcome: "insufficient", balance: 2 } });
    expect(short.claim).toBeUndefined();
    expect(await stores.idempotency.read(other)).toBeNull();
    // A refused bucket claims and charges nothing, and reads the balance.
    const refused = await stores.admission.admit({ bucket, cost: 1000, limits, claim: { ref: other, fingerprint: "fp", leaseMs: 60_000 }, charge });
    expect(refused).toMatchObject({ bucket: { allowed: false }, credits: { outcome: "balance", balance: 2 } });
    expect(await stores.idempotency.read(other)).toBeNull();
  });

  it("takes a tenant-wide bucket with the key's, all or nothing", async () => {
    const stores = createPostgresStores(use());
    const tenantId = randomUUID();
    const tenant = { ref: { tenantId, id: "tenant" }, limits: { capacity: 3, refillPerSecond: 0.0001 } };
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await stores.admission.admit({ bucket: { tenantId, id: `key:${i % 2}` }, cost: 1, limits, tenant }));
    expect(results.map((r) => r.bucket.allowed)).toEqual([true, true, true, false, false]);
    expect(results[4]!.tenant).toMatchObject({ allowed: false, remaining: 0 });
    // The refused calls took nothing from the key's bucket.
    expect((await stores.buckets.consume({ tenantId, id: "key:0" }, 0, limits)).remaining).toBe(98);
  });

  it("is one round trip: one statement on the server per admission", async () => {
    const { pool, schema } = use();
    let statements = 0;
    // Every statement sent, on the pool or on a client checked out of it.
    const counting = {
      query: (c: never) => (statements++, pool.query(c)),
      connect: async () => {
        const client = await pool.connect();
        return { query: (c: never) => (statements++, client.query(c)), release: (e?: Error | boolean) => client.release(e), processID: (client as unknown as { processID: number }).processID };
      },
    };
    const stores = createPostgresStores({ pool: counting, schema });
    const tenantId = randomUUID();
    await stores.admission.admit({
      bucket: { tenantId, id: "key:a" },
      cost: 1,
      limits,
      claim: { ref: { tenantId, scope: "u:live", key: "k" }, fingerprint: "fp", leaseMs: 60_000 },
      charge: { capability: "a.b", credits: 1, grant: 10, reservation: randomUUID() },
    });
    expect(statements).toBe(1);
  });
});

describe("sweep", () => {
  it("deletes expired idempotency records and full buckets, and nothing live", async () => {
    const stores = createPostgresStores(use());
    const tenantId = randomUUID();
    const gone = { tenantId, scope: "s", key: "gone" };
    const kept = { tenantId, scope: "s", key: "kept" };
    await stores.idempotency.claim(gone, "fp", { leaseMs: 1 });
    await stores.idempotency.claim(kept, "fp", { leaseMs: 60_000 });
    await stores.buckets.consume({ tenantId, id: "key:full" }, 1, { capacity: 10, refillPerSecond: 1000 });
    await stores.buckets.consume({ tenantId, id: "key:held" }, 5, { capacity: 10, refillPerSecond: 0.0001 });
    await sleep(20);
    expect(await stores.sweep()).toBeGreaterThanOrEqual(2);
    const { pool, schema } = use();
    const idem = (await pool.query(`SELECT key FROM "${schema}".idempotency WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.key);
    const buckets = (await pool.query(`SELECT id FROM "${schema}".buckets WHERE tenant_id = $1`, [tenantId])).rows.map((r) => r.id);
    expect(idem).toEqual(["kept"]);
    expect(buckets).toEqual(["key:held"]);
  });
});

describe("sweep of a backlog", () => {
  it("deletes every expired row however many there are, in batches of `limit`, one table per statement", async () => {
    const { pool, schema } = use();
    const tenantId = randomUUID();
    await pool.query(`INSERT INTO "${schema}".idempotency (tenant_id, scope, key, state, fingerprint, token, until_ms)
      SELECT $1, 's', 'k' || g, 'in_flight', 'fp', g, 1 FROM generate_series(1, 2500) g`, [tenantId]);
    await pool.query(`INSERT INTO "${schema}".buckets (tenant_id, id, tokens, at_ms, full_ms) SELECT $1, 'b' || g, 1, 1, 1 FROM generate_series(1, 2300) g`, [tenantId]);
    await pool.query(`INSERT INTO "${schema}".idempotency (tenant_id, scope, key, state, fingerprint, token, until_ms) VALUES ($1, 's', 'live', 'in_flight', 'fp', 0, 1e15)`, [tenantId]);
    const sent: string[] = [];
    const counting = {
      query: (c: { text: string }) => (sent.push(c.text), pool.query(c as never)),
      connect: async () => {
        const client = await pool.connect();
        return { query: (c: { text: string }) => (sent.push(c.text), client.query(c as never)), release: (e?: Error | boolean) => client.release(e), processID: (client as unknown as { processID: number }).processID };
      },
    };
    const stores = createPostgresStores({ pool: counting as never, schema });
    expect(await stores.sweep(1000)).toBeGreaterThanOrEqual(4800);
    const left = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".${table} WHERE tenant_id = $1`, [tenantId])).rows[0].n);
    expect(await left("idempotency")).toBe(1); // the live one
    expect(await left("buckets")).toBe(0);
    // Each statement sweeps one table: bucket rows are never held while idempotency rows are deleted.
    expect(sent.every((t) => /sweep_buckets|sweep_idempotency/.test(t) && !(/sweep_buckets/.test(t) && /sweep_idempotency/.test(t)))).toBe(true);
    expect(sent.filter((t) => /sweep_buckets/.test(t)).length).toBeGreaterThanOrEqual(3);
    expect(sent.filter((t) => /sweep_idempotency/.test(t)).length).toBeGreaterThanOrEqual(3);
  });
});

describe("the key invalidation feed", () => {
  it("forgets a changed key in another cache through LISTEN/NOTIFY", async () => {
    const stores = createPostgresStores(use());
    const client = new pg.Client({ connectionString: testUrl() });
    await client.connect();
    const cache = createVerifiedKeyCache({ store: stores.keys, hasher, ttlMs: 60_000 });
    const stop = await watchKeyInvalidations(cache, client, { schema: use().schema });
    try {
      const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
      await waitFor("the key to be cached", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      await stores.keys.patch(record.tenant_id, record.id, { revokedAt: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation", async () => (await cache.lookup(key))?.revoked_at !== null, 1000, 10);
    } finally {
      await stop();
      await client.end();
    }
  });

  it("while the feed is lost and PostgreSQL answers, serves no revocation from a stale cache, and a watch then opens one listener, not two", async () => {
    const { pool, schema } = use();
    const name = `outage-${schema}`;
    const listeners = async () => Number((await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", [name])).rows[0].n);
    // A long reconnect delay: the outage lasts, and only clearing during it can show the revocation.
    const connected = await connectPostgresStores({ pool, schema, listener: () => new pg.Client({ connectionString: testUrl(), application_name: name, keepAlive: true }), reconnectDelayMs: 8000, heartbeatMs: 200, sweepIntervalMs: 0 });
    const cache = createVerifiedKeyCache({ store: connected.stores.keys, hasher, ttlMs: 60_000 });
    try {
      // Minted before the feed listens: its own notification can never empty the cache later.
      const { key, record } = await mintApiKey(connected.stores.keys, hasher, { tenantId: randomUUID() });
      await connected.watch(cache);
      await waitFor("the key cached", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      const lostAt = Date.now();
      await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [name]);
      await waitFor("the listener gone", async () => (await listeners()) === 0);
      await waitFor("the cache cleared on the loss", () => cache.size === 0, 5000);
      expect((await cache.lookup(key))?.revoked_at).toBeNull(); // cached again during the outage
      await connected.stores.keys.patch(record.tenant_id, record.id, { revokedAt: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation seen during the outage", async () => (await cache.lookup(key))?.revoked_at !== null, 3000, 20);
      expect(await listeners()).toBe(0); // still in the outage: no notification could have told it
      // A watch during the outage opens the feed now; the pending retry then opens no second one.
      const other = createVerifiedKeyCache({ store: connected.stores.keys, hasher, ttlMs: 60_000 });
      await connected.watch(other);
      expect(await listeners()).toBe(1);
      await sleep(Math.max(0, 8500 - (Date.now() - lostAt)));
      expect(await listeners()).toBe(1);
    } finally {
      await connected.close();
    }
  });

  it("treats a connection that stopped answering as a lost feed (the heartbeat), and clears the cache", async () => {
    const { pool, schema } = use();
    // A TCP relay to PostgreSQL that can go silent without closing: a dead network path.
    const [host, port] = [new URL(testUrl()).hostname || "127.0.0.1", Number(new URL(testUrl()).port || 5432)];
    let silent = false;
    const sockets: import("node:net").Socket[] = [];
    const relay = createServer((inbound) => {
      const outbound = connect(port, host);
      sockets.push(inbound, outbound);
      inbound.on("data", (d) => void (silent || outbound.write(d)));
      outbound.on("data", (d) => void (silent || inbound.write(d)));
      inbound.on("error", () => {});
      outbound.on("error", () => {});
      inbound.on("close", () => outbound.destroy());
      outbound.on("close", () => inbound.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
    const relayUrl = new URL(testUrl());
    relayUrl.hostname = "127.0.0.1";
    relayUrl.port = String((relay.address() as { port: number }).port);
    const errors: unknown[] = [];
    const connected = await connectPostgresStores({ pool, schema, listener: () => new pg.Client({ connectionString: relayUrl.toString() }), reconnectDelayMs: 60_000, heartbeatMs: 150, sweepIntervalMs: 0, onError: (e, op) => op === "connection" && errors.push(e) });
    const cache = createVerifiedKeyCache({ store: connected.stores.keys, hasher, ttlMs: 60_000 });
    try {
      // Minted before the feed listens: its own notification can never empty the cache later.
      const { key } = await mintApiKey(connected.stores.keys, hasher, { tenantId: randomUUID() });
      await connected.watch(cache);
      await waitFor("the key cached", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      silent = true;
      await waitFor("the feed taken for lost", () => errors.length > 0, 10_000);
      expect(String(errors[0])).toMatch(/heartbeat/);
      await waitFor("the cache cleared", () => cache.size === 0, 5000);
    } finally {
      await connected.close();
      for (const s of sockets) s.destroy();
      relay.close();
    }
  });

  it("opens a new listener when its connection is lost, clears the cache then, and keeps receiving", async () => {
    const { pool, schema } = use();
    const connected = await connectPostgresStores({ pool, schema, listener: () => new pg.Client({ connectionString: testUrl(), application_name: `listener-${schema}` }), reconnectDelayMs: 50, sweepIntervalMs: 0 });
    const cache = createVerifiedKeyCache({ store: connected.stores.keys, hasher, ttlMs: 60_000 });
    try {
      await connected.watch(cache);
      const { key, record } = await mintApiKey(connected.stores.keys, hasher, { tenantId: randomUUID() });
      await waitFor("the key to be cached", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      await pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [`listener-${schema}`]);
      await waitFor("the cache to be cleared on reconnect", () => cache.size === 0, 10_000);
      await waitFor("the listener to be back", async () => Number((await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", [`listener-${schema}`])).rows[0].n) === 1, 10_000);
      await waitFor("the key to be cached again", async () => (await cache.lookup(key)) !== null && cache.size === 1);
      await connected.stores.keys.patch(record.tenant_id, record.id, { revokedAt: "2026-11-23T09:00:00.000Z" });
      await waitFor("the revocation after the reconnect", async () => (await cache.lookup(key))?.revoked_at !== null, 5000);
    } finally {
      await connected.close();
    }
  });
});

import { randomUUID } from "node:crypto";
import { createKeyHasher, createKeyManager, isPolicyError } from "@alloovium/core";
import { mintApiKey, mintPrincipal, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStores, type MigrateResult } from "../src/index";
import { testUrl, useSchema } from "./helpers";
import { dropSchema, schemaName, sleep, waitFor } from "./pg-server";
import { Worker } from "./workers";

// Four real processes, each with its own pool, stores and LISTEN feed, on one database.
const use = useSchema("multi");
let workers: Worker[] = [];

beforeAll(async () => {
  const { pool, schema } = use();
  await pool.query(`CREATE TABLE "${schema}".handler_runs (key text NOT NULL)`);
  workers = Array.from({ length: 4 }, () => new Worker(testUrl(), schema));
  await Promise.all(workers.map((w) => w.ready));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

describe("migrations", () => {
  it("migrate once when 8 processes start at once on a new schema, with no error in any", async () => {
    const fresh = schemaName("migrate8");
    const more = [new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema)];
    try {
      await Promise.all(more.map((w) => w.ready));
      const results = await Promise.all([...workers, ...more].map((w) => w.run<MigrateResult>({ type: "migrate", schema: fresh })));
      expect(results).toHaveLength(8);
      // One process applied every migration; the seven others found nothing to do.
      const appliers = results.filter((r) => r.applied.length > 0);
      expect(appliers).toHaveLength(1);
      expect(results.every((r) => r.version === appliers[0]!.version)).toBe(true);
      const rows = (await use().pool.query(`SELECT version FROM "${fresh}".alloovium_migrations ORDER BY version`)).rows.map((r) => r.version);
      expect(rows).toEqual(appliers[0]!.applied);
    } finally {
      await Promise.all(more.map((w) => w.stop()));
      await dropSchema(use().pool, fresh);
    }
  });
});

describe("migrations on pools with a short statement_timeout", () => {
  it("migrate once when 8 processes wait longer than their statement_timeout for the lock, with no error in any", async () => {
    const fresh = schemaName("migrate8slow");
    const { pool } = use();
    const more = [new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema), new Worker(testUrl(), use().schema)];
    const holder = await pool.connect();
    try {
      await Promise.all(more.map((w) => w.ready));
      // Another session holds the migration lock well past the workers' 200 ms limit.
      await holder.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`alloovium-migrate:${fresh}`]);
      const running = [...workers, ...more].map((w) => w.run<MigrateResult & { statementTimeout: string }>({ type: "migrate", schema: fresh, statementTimeoutMs: 200 }));
      await waitFor("8 migrations waiting for the lock", async () => Number((await pool.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).rows[0].n) >= 8, 30_000);
      await sleep(1000);
      await holder.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`alloovium-migrate:${fresh}`]);
      const results = await Promise.all(running);
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      expect(results.map((r) => [r.version, r.statementTimeout])).toEqual(Array.from({ length: 8 }, () => ["005", "200ms"]));
    } finally {
      holder.release();
      await Promise.all(more.map((w) => w.stop()));
      await dropSchema(use().pool, fresh);
    }
  });
});

describe("several processes on PostgreSQL alone", () => {
  it("admit exactly the capacity plus the refill of one shared bucket, never more", async () => {
    // 0.0001 tokens/s: under 0.01 tokens refill during the test, so exactly the capacity.
    const job = { type: "consume" as const, tenantId: randomUUID(), id: "key:shared", n: 60, capacity: 50, refillPerSecond: 0.0001 };
    const allowed = await Promise.all(workers.map((w) => w.run<number>(job)));
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(50);
    const again = await Promise.all(workers.map((w) => w.run<number>({ ...job, n: 10 })));
    expect(again.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("give one claim to 50 concurrent identical requests over 4 processes: the handler runs once", async () => {
    const tenantId = randomUUID();
    const job = { tenantId, scope: "user-1:live", key: `order-${randomUUID()}`, type: "claim" as const };
    const outcomes = (await Promise.all(workers.map((w, i) => w.run<string[]>({ ...job, n: i < 2 ? 13 : 12 })))).flat();
    expect(outcomes).toHaveLength(50);
    expect(outcomes.filter((o) => o === "claimed")).toHaveLength(1);
    expect(outcomes.every((o) => o === "claimed" || o === "in_flight" || o === "completed:run 1")).toBe(true);
    const runs = async () => Number((await use().pool.query(`SELECT count(*) AS n FROM "${use().schema}".handler_runs WHERE key = $1`, [job.key])).rows[0].n);
    expect(await runs()).toBe(1);
    const replays = (await Promise.all(workers.map((w) => w.run<string[]>({ ...job, n: 5 })))).flat();
    expect(replays).toEqual(Array.from({ length: 20 }, () => "completed:run 1"));
    expect(await runs()).toBe(1);
  });

  it("admit exactly floor(grant / price) charges racing for one tenant's last credits, never below zero, each charged once in the ledger", async () => {
    const { pool, schema } = use();
    const tenantId = randomUUID();
    const scope = "user-1:live";
    const grant = 100;
    const price = 7;
    type Answer = { key: string | null; claim: string | null; outcome: string | null; balance: number | null };
    const answers = (await Promise.all(workers.map((w) => w.run<Answer[]>({ type: "charge", tenantId, scope, n: 30, price, grant })))).flat();
    expect(answers).toHaveLength(120);
    const charged = answers.filter((a) => a.outcome === "charged");
    expect(charged).toHaveLength(Math.floor(grant / price));
    expect(charged.map((a) => a.balance).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 14 }, (_, i) => 2 + 7 * i));
    const refused = answers.filter((a) => a.outcome !== "charged");
    expect(refused.every((a) => a.outcome === "insufficient" && a.balance === 2 && a.claim === null)).toBe(true);
    const stores = createPostgresStores({ pool, schema });
    expect(await stores.credits.balance(tenantId, grant)).toBe(2);
    expect((await stores.credits.usage(tenantId, 0)).map((r) => [r.calls, r.credits])).toEqual([[14, 98]]);
    // The ledger: the grant and one entry per charge, summing to the balance.
    const entries = await stores.ledger.entries(tenantId);
    expect(entries.filter((e) => e.kind === "charge")).toHaveLength(14);
    expect(entries.filter((e) => e.kind === "grant")).toEqual([expect.objectContaining({ amount: 100 })]);
    expect(entries.reduce((s, e) => s + e.amount, 0)).toBe(2);
    for (const a of answers.filter((x) => x.key !== null)) {
      const record = await stores.idempotency.read({ tenantId, scope, key: a.key! });
      expect(record?.state ?? null).toBe(a.outcome === "charged" ? "in_flight" : null);
    }
  });
});

describe("keys from several processes on PostgreSQL alone", () => {
  const keysOf = () => createKeyManager({ keyStore: createPostgresStores(use()).keys, keyHasher: createKeyHasher({ peppers: [TEST_PEPPER] }) });

  it("give a key one successor when 4 processes race 50 rolls of it: one 201, every other 409 key_already_rolled", async () => {
    const tenantId = randomUUID();
    const admin = mintPrincipal({ tenant_id: tenantId, environment: "live", scopes: ["keys:write", "vault:read"] });
    const created = await keysOf().create(admin, { name: "shared", environment: "live", scopes: ["vault:read"] });
    if (isPolicyError(created)) throw new Error(created.code);
    const job = { type: "keys" as const, op: "roll" as const, tenantId, keyId: created.id, maxActiveKeys: 100 };
    const answers = (await Promise.all(workers.map((w, i) => w.run<string[]>({ ...job, n: i < 2 ? 13 : 12 })))).flat();
    expect(answers).toHaveLength(50);
    const won = answers.filter((a) => a.startsWith("201:"));
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a === "key_already_rolled")).toHaveLength(49);
    const stores = createPostgresStores(use());
    expect((await stores.keys.get(tenantId, created.id))?.successor_id).toBe(won[0]!.slice(4));
    expect((await stores.keys.list(tenantId)).map((r) => r.id).sort()).toEqual([created.id, won[0]!.slice(4)].sort());
  });

  it("never exceed maxActiveKeys when 4 processes race 80 creates for one tenant", async () => {
    const tenantId = randomUUID();
    const job = { type: "keys" as const, op: "create" as const, tenantId, keyId: "", n: 20, maxActiveKeys: 25 };
    const answers = (await Promise.all(workers.map((w) => w.run<string[]>(job)))).flat();
    expect(answers.filter((a) => a.startsWith("201:"))).toHaveLength(25);
    expect(answers.filter((a) => a === "key_limit_reached")).toHaveLength(55);
    expect(await createPostgresStores(use()).keys.list(tenantId)).toHaveLength(25);
  });

  it("carry a revocation to process A's 60 s cache through LISTEN/NOTIFY within 1 second", async () => {
    const stores = createPostgresStores(use());
    const hasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const { key, record } = await mintApiKey(stores.keys, hasher, { tenantId: randomUUID() });
    type Lookup = { found: boolean; revoked_at: string | null; storeReads: number };
    const a = workers[0]!;
    const cached = await waitFor("A to cache the key", async () => {
      const first = await a.run<Lookup>({ type: "lookup", key });
      const second = await a.run<Lookup>({ type: "lookup", key });
      return second.storeReads === first.storeReads ? second : undefined;
    });
    expect(cached).toMatchObject({ found: true, revoked_at: null });
    const revokedAt = "2026-11-23T09:00:00.000Z";
    await stores.keys.patch(record.tenant_id, record.id, { revokedAt });
    const seen = await waitFor(
      "A to see the revocation",
      async () => {
        const r = await a.run<Lookup>({ type: "lookup", key });
        return r.revoked_at === revokedAt ? r : undefined;
      },
      1000,
      10,
    );
    // One more store read: the notification, not the 60 s TTL, dropped the entry.
    expect(seen).toEqual({ found: true, revoked_at: revokedAt, storeReads: cached.storeReads + 1 });
  });
});

import { randomUUID } from "node:crypto";
import { createKeyHasher, createPolicy, defineCapability, MemoryKeyStore } from "@alloovium/core";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { useSchema } from "../test/helpers";
import { freePort, sleep, waitFor } from "../test/pg-server";
import { createPostgresStores } from "./index";
import { Db, isConnectionError, UnknownOutcomeError } from "./pg";

const use = useSchema("admission");
const limits = { capacity: 100, refillPerSecond: 1 };
const refused: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(refused.map((p) => p.end().catch(() => {})));
});

/** A pool on a port nothing listens on: every connect is ECONNREFUSED. */
async function refusedPool(): Promise<pg.Pool> {
  const p = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test`, connectionTimeoutMillis: 1000 });
  p.on("error", () => {});
  refused.push(p);
  return p;
}

async function balanceRow(tenantId: string): Promise<number | null> {
  const { pool, schema } = use();
  const r = await pool.query(`SELECT balance FROM "${schema}".credit_balances WHERE tenant_id = $1`, [tenantId]);
  return r.rows[0] ? Number(r.rows[0].balance) : null;
}

describe("an admission whose outcome is not known", () => {
  it("answers 503 (throws) when its lock wait outlasts the timeout, and nothing of it is applied after the lock is released", async () => {
    const { pool, schema } = use();
    const stores = createPostgresStores({ pool, schema, queryTimeoutMs: 300 });
    const tenantId = randomUUID();
    const bucket = { tenantId, id: "key:a" };
    const charge = { capability: "a.b", credits: 7, grant: 100 };
    await stores.credits.add(tenantId, 1, 100); // the balance row exists: 101
    const holder = await pool.connect();
    const ref = { tenantId, scope: "u:live", key: randomUUID() };
    try {
      await holder.query("BEGIN");
      await holder.query(`SELECT balance FROM "${schema}".credit_balances WHERE tenant_id = $1 FOR UPDATE`, [tenantId]);
      await expect(stores.admission.admit({ bucket, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 }, charge: { ...charge, reservation: randomUUID() } })).rejects.toThrow();
      await expect(stores.admission.admit({ bucket, cost: 1, limits, charge: { ...charge, reservation: randomUUID() } })).rejects.toThrow();
    } finally {
      await holder.query("COMMIT");
      holder.release();
    }
    // Give a statement still running on the server every chance to finish, then look.
    await waitFor("no admission running", async () => Number((await pool.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, [`%"${schema}".admit(%`])).rows[0].n) === 0);
    await sleep(300);
    expect(await balanceRow(tenantId)).toBe(101);
    expect(await stores.idempotency.read(ref)).toBeNull();
    const entries = await stores.ledger.entries(tenantId);
    expect(entries.map((e) => e.kind)).toEqual(["grant", "topup"]);
    // Released, the same admission goes through.
    const ok = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref, fingerprint: "fp", leaseMs: 60_000 }, charge: { ...charge, reservation: randomUUID() } });
    expect(ok).toMatchObject({ claim: { outcome: "claimed" }, credits: { outcome: "charged", balance: 94 } });
  });

  it("cancels on the server a statement the client gave up on, and says its outcome is unknown", async () => {
    const { pool, schema } = use();
    const db = new Db("test", { pool, schema, queryTimeoutMs: 200 });
    const tag = randomUUID();
    const text = `SELECT pg_sleep(30), $1::text AS tag`;
    await expect(db.query(text, [tag])).rejects.toBeInstanceOf(UnknownOutcomeError);
    // Without the cancel the backend would sleep on for 30 s with nobody to answer.
    await waitFor("the backend's statement cancelled", async () => Number((await pool.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query = $1`, [text])).rows[0].n) === 0, 15_000, 50);
  });
});

describe("what the admission fails open on", () => {
  it("fails open only when PostgreSQL cannot be reached: a refused connection goes to the local share", async () => {
    const errors: string[] = [];
    const stores = createPostgresStores({ pool: await refusedPool(), failure: { localShareOf: 4 }, onError: (_e, op) => errors.push(op) });
    const tenantId = randomUUID();
    const a = await stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits: { capacity: 8, refillPerSecond: 0.0001 }, claim: { ref: { tenantId, scope: "s", key: "k" }, fingerprint: "f", leaseMs: 1000 }, charge: { capability: "a.b", credits: 1, grant: 10 } });
    expect(a).toMatchObject({ bucket: { allowed: true, remaining: 1 }, claim: { outcome: "unavailable" }, credits: { outcome: "unavailable" } });
    expect(errors).toEqual(["admit"]);
    const b = await stores.admission.admit({ bucket: { tenantId, id: "key:b" }, cost: 1, limits: { capacity: 8, refillPerSecond: 0.0001 } });
    expect(b.bucket).toMatchObject({ allowed: true, remaining: 1 });
    const closed = createPostgresStores({ pool: await refusedPool(), failure: { buckets: "closed" } });
    await expect(closed.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits })).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it("answers 503 on an error of the database itself (a missing function), for every kind of admission", async () => {
    const { pool } = use();
    const errors: string[] = [];
    // A schema that was never migrated: `admit` and `bucket_take` do not exist there.
    const stores = createPostgresStores({ pool, schema: "t_never_migrated_here", onError: (_e, op) => errors.push(op) });
    const tenantId = randomUUID();
    const bucket = { tenantId, id: "key:a" };
    await expect(stores.admission.admit({ bucket, cost: 1, limits })).rejects.toMatchObject({ code: "3F000" });
    await expect(stores.admission.admit({ bucket, cost: 1, limits, charge: { capability: "a.b", credits: 1, grant: 10 } })).rejects.toMatchObject({ code: "3F000" });
    await expect(stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: { tenantId, scope: "s", key: "k" }, fingerprint: "f", leaseMs: 1000 } })).rejects.toMatchObject({ code: "3F000" });
    expect(errors).toEqual([]);
  });

  it("tells connection failures from the rest", () => {
    const coded = (code: string) => Object.assign(new Error("x"), { code });
    for (const e of [coded("08006"), coded("08001"), coded("57P01"), coded("57P03"), coded("ECONNREFUSED"), coded("ECONNRESET"), coded("ETIMEDOUT"), new Error("timeout exceeded when trying to connect"), new Error("Connection terminated unexpectedly")]) {
      expect(isConnectionError(e)).toBe(true);
    }
    for (const e of [coded("42883"), coded("42501"), coded("0A000"), coded("55P03"), coded("57014"), new Error("Query read timeout"), new UnknownOutcomeError(new Error("Query read timeout")), "ECONNREFUSED"]) {
      expect(isConnectionError(e)).toBe(false);
    }
  });
});

describe("an idempotent request when PostgreSQL cannot be reached and buckets fail closed", () => {
  it("is 503 idempotency_unavailable (contract section 5), not service_unavailable", async () => {
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const keys = new MemoryKeyStore();
    const pgStores = createPostgresStores({ pool: await refusedPool(), failure: { buckets: "closed" } });
    const policy = createPolicy({ environment: "live", keyHasher, stores: { keys, buckets: pgStores.buckets, idempotency: pgStores.idempotency, admission: pgStores.admission }, metering: false });
    const { key } = await mintApiKey(keys, keyHasher, { environment: "live", tenantId: randomUUID() });
    const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: true });
    const post = await policy.decide(policyRequest({ method: "POST", path: create.path, key, idempotencyKey: "k1", body: {} }), create);
    if (post.kind !== "reject") throw new Error(`expected a rejection, got ${post.kind}`);
    expect([post.response.status, post.problem.code]).toEqual([503, "idempotency_unavailable"]);
    const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", cost: 1, idempotent: true });
    const get = await policy.decide(policyRequest({ path: list.path, key }), list);
    if (get.kind !== "reject") throw new Error(`expected a rejection, got ${get.kind}`);
    expect([get.response.status, get.problem.code]).toEqual([503, "service_unavailable"]);
  });
});



/**
 * Redis in front of PostgreSQL (issue 10, deployment 2), on real servers: a redis-server of this
 * file's own (no persistence) that it kills and starts again, the run's PostgreSQL (a schema of
 * its own) for key records and the ledger, and a throwaway PostgreSQL it stops and starts.
 */
import { randomUUID } from "node:crypto";
import {
  createKeyHasher,
  createPolicy,
  createVerifiedKeyCache,
  defineCapability,
  type Decision,
  type KeyStore,
  type Policy,
} from "@alloovium/core";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisStores, type RedisStores } from "../src/index";
import { KeyLayout } from "../src/keys";
import { PgProxy, postgres, watchPostgresKeyInvalidations, type TestPostgres } from "./postgres";
import { testClient, testPrefix } from "./helpers";
import { deleteKeys, RedisServer, waitFor } from "./redis-server";
import { LedgerWorker } from "./workers";

const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
const capability = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: false, credits: 2 });
const GRANT = 1000;

/** One instance of the API: its own Redis client, stores, key cache (60 s: only a feed refreshes it) and policy. */
interface Instance {
  readonly client: Redis;
  readonly stores: RedisStores;
  readonly policy: Policy;
  readonly keys: KeyStore;
  call(key: string): Promise<Decision>;
  close(): Promise<void>;
}

async function instance(redisUrl: string, keyPrefix: string, db: TestPostgres): Promise<Instance> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000, ledger: db.ledger(), ledgerFlush: { intervalMs: 1000 } });
  const keys = db.keys();
  const keyCache = createVerifiedKeyCache({ store: keys, hasher: keyHasher, ttlMs: 60_000, negativeTtlMs: 60_000 });
  const listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  const unwatch = await watchPostgresKeyInvalidations(keyCache, listener, { schema: db.schema });
  const policy = createPolicy({ environment: "test", keyHasher, keyCache, creditGrant: GRANT, stores: { ...stores, keys } });
  return {
    client,
    stores,
    policy,
    keys,
    async call(key) {
      const d = await policy.decide(policyRequest({ method: "POST", path: capability.path, key, body: "{}" }), capability);
      if (d.kind === "continue") await d.commit({ status: 201, headers: {}, body: "made" });
      return d;
    },
    async close() {
      await stores.ledgerFlusher?.stop().catch(() => {});
      await unwatch();
      await listener.end();
      client.disconnect();
    },
  };
}

/** The `"credits";r=<balance>` of a decision's RateLimit header. */
function balanceOf(d: Decision): number {
  const h = d.kind === "reject" ? d.response.headers.ratelimit : d.kind === "continue" ? d.headers.ratelimit : undefined;
  const m = /"credits";r=(\d+)/.exec(h ?? "");
  if (!m) throw new Error(`no credits balance in ${d.kind} (${h})`);
  return Number(m[1]);
}

describe("Redis in front of PostgreSQL", () => {
  let db: TestPostgres;
  let redis: RedisServer;
  beforeAll(async () => {
    db = await postgres("redis_front");
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.destroy();
    await db?.close();
  });

  it("survives Redis losing its data mid-run: no key lost, no revoked key back, balances from the ledger (never the grant), the ledger equal to the calls made", async () => {
    const keyPrefix = `loss-${randomUUID().slice(0, 8)}`;
    const a = await instance(redis.url, keyPrefix, db);
    const b = await instance(redis.url, keyPrefix, db);
    try {
      const tenantId = randomUUID();
      const live = await mintApiKey(a.keys, keyHasher, { tenantId });
      const revoked = await mintApiKey(a.keys, keyHasher, { tenantId });
      const other = await mintApiKey(a.keys, keyHasher, { tenantId: randomUUID() });
      let charged = 0; // calls charged to the tenant: the ledger must hold exactly these
      expect((await b.call(revoked.key)).kind).toBe("continue");
      charged++;
      await a.keys.patch!(tenantId, revoked.record.id, { revokedAt: new Date().toISOString() });
      // The revocation reaches the other instance through PostgreSQL's feed (its cache holds the key for 60 s).
      await waitFor("the revocation on instance b", async () => {
        const d = await b.call(revoked.key);
        if (d.kind === "continue") charged++;
        return d.kind === "reject";
      });

      for (let i = 0; i < 30; i++) {
        const d = await (i % 2 ? a : b).call(live.key);
        expect(d.kind).toBe("continue");
        charged++;
      }
      expect(balanceOf(await a.call(other.key))).toBe(GRANT - 2);
      // In the ledger within the flush bound (1 s; waited for, never timed, on a loaded machine).
      const ledger = db.ledger();
      await waitFor("the flush", async () => (await ledger.balance(tenantId)) === GRANT - 2 * charged);

      // Charges acknowledged just before the loss may be missing (never counted twice): queued, not yet flushed.
      await Promise.all([a.stores.ledgerFlusher!.stop(), b.stores.ledgerFlusher!.stop()]);
      for (let i = 0; i < 5; i++) expect((await a.call(live.key)).kind).toBe("continue");
      expect(await a.client.llen(new KeyLayout(keyPrefix).ledgerQueue(tenantId))).toBe(5);

      await redis.stop();
      await redis.restart(); // empty: no persistence
      a.stores.ledgerFlusher!.start();
      b.stores.ledgerFlusher!.start();
      const fresh = await instance(redis.url, keyPrefix, db); // a new instance, nothing cached
      try {
        for (const inst of [a, b, fresh]) {
          await waitFor("Redis again", async () => (await inst.client.ping()) === "PONG");
        }
        // Every key authenticates as before, on every instance; the revoked one stays revoked.
        const first = await fresh.call(live.key);
        expect(first.kind).toBe("continue");
        // The balance is the ledger's (the 5 unflushed charges are missing, in the tenant's favour), never the grant.
        charged++;
        expect(balanceOf(first)).toBe(GRANT - 2 * charged);
        const r = await fresh.call(revoked.key);
        expect(r.kind).toBe("reject");
        if (r.kind === "reject") expect(r.problem.code).toBe("api_key_revoked");
        for (const inst of [a, b]) {
          const d = await inst.call(revoked.key);
          expect(d.kind, "revoked key on an old instance").toBe("reject");
        }
        expect((await fresh.call(other.key)).kind).toBe("continue");
        const after = await Promise.all(Array.from({ length: 12 }, (_, i) => [a, b, fresh][i % 3]!.call(live.key)));
        expect(after.every((d) => d.kind === "continue")).toBe(true);
        charged += 12;

        await Promise.all([a, b, fresh].map((i) => i.stores.ledgerFlusher!.flush()));
        const entries = await ledger.entries(tenantId, { limit: 10_000 });
        expect(entries.filter((e) => e.kind === "grant")).toHaveLength(1);
        expect(entries.filter((e) => e.kind === "charge")).toHaveLength(charged);
        expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
        expect(await ledger.balance(tenantId)).toBe(GRANT - 2 * charged);
        expect(await fresh.stores.credits.balance(tenantId, GRANT)).toBe(GRANT - 2 * charged);
        // Usage is the ledger's: every call recorded, the lost ones not.
        const usage = await fresh.stores.credits.usage(tenantId, Date.now() - 3_600_000);
        expect(usage.reduce((n, u) => n + u.calls, 0)).toBe(charged);
      } finally {
        await fresh.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("4 processes racing for a tenant's last credits never go below zero and charge each call once, also when they all load a lost balance at once", async () => {
    const keyPrefix = `race-${randomUUID().slice(0, 8)}`;
    const workers = Array.from({ length: 4 }, () => new LedgerWorker(redis.url, keyPrefix, db.url, db.schema));
    try {
      await Promise.all(workers.map((w) => w.ready));
      const tenantId = randomUUID();
      const run = (n: number) => Promise.all(workers.map((w) => w.run<{ outcome: string; balance: number }[]>({ type: "charge", tenantId, n, price: 7, grant: 100 }))).then((r) => r.flat());
      const first = await run(30);
      expect(first.filter((x) => x.outcome === "charged")).toHaveLength(14);
      expect(first.filter((x) => x.outcome === "charged").map((x) => x.balance).sort((p, q) => p - q)).toEqual(Array.from({ length: 14 }, (_, i) => 2 + 7 * i));
      await Promise.all(workers.map((w) => w.run({ type: "flush" })));
      const ledger = db.ledger();
      expect(await ledger.balance(tenantId)).toBe(2);

      // Redis loses the tenant; a top-up lands in the ledger; 4 processes race to load it and spend it.
      const client = new Redis(redis.url);
      try {
        const layout = new KeyLayout(keyPrefix);
        await client.del(layout.credits(tenantId), layout.ledgerQueue(tenantId));
      } finally {
        client.disconnect();
      }
      await ledger.append([{ id: `topup:${randomUUID()}`, tenantId, kind: "topup", amount: 68, capability: null, reservation: null, at: Date.now() }]);
      const second = await run(30);
      expect(second.filter((x) => x.outcome === "charged")).toHaveLength(10);
      expect(second.filter((x) => x.outcome === "charged").map((x) => x.balance).sort((p, q) => p - q)).toEqual(Array.from({ length: 10 }, (_, i) => 7 * i));
      await Promise.all(workers.map((w) => w.run({ type: "flush" })));
      const entries = await ledger.entries(tenantId, { limit: 10_000 });
      expect(entries.filter((e) => e.kind === "charge")).toHaveLength(24);
      expect(entries.filter((e) => e.kind === "grant")).toHaveLength(1);
      expect(await ledger.balance(tenantId)).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});

describe("an entry PostgreSQL refuses", () => {
  it("holds back its tenant only: every other tenant's entries are recorded", async () => {
    const db = await postgres("refused");
    const redis = testClient();
    const keyPrefix = testPrefix("refused");
    const told: string[] = [];
    const stores = createRedisStores({ client: redis, keyPrefix, commandTimeoutMs: 5000, ledger: db.ledger(), ledgerFlush: { autoStart: false }, onError: (_, op) => void told.push(op) });
    try {
      const ok = randomUUID();
      const nul = randomUUID();
      const limits = { capacity: 100, refillPerSecond: 1 };
      await stores.admission.admit({ bucket: { tenantId: ok, id: "key:a" }, cost: 1, limits, charge: { capability: "a.b", credits: 2, grant: 10, reservation: randomUUID() } });
      // PostgreSQL's text cannot hold a NUL: the ledger refuses this tenant's charge.
      await stores.admission.admit({ bucket: { tenantId: nul, id: "key:a" }, cost: 1, limits, charge: { capability: "a\u0000b", credits: 2, grant: 10, reservation: randomUUID() } });
      expect(await stores.ledgerFlusher!.flush()).toBe(2);
      expect(await db.ledger().balance(ok)).toBe(8);
      expect(await db.ledger().balance(nul)).toBeNull();
      expect(told).toContain("ledger-flush");
    } finally {
      redis.disconnect();
      await db.close();
    }
  });
});

describe("the ledger flush while PostgreSQL is down", () => {
  let proxy: PgProxy;
  let db: TestPostgres;
  let redis: Redis;
  beforeAll(async () => {
    db = await postgres("flush_down", async (url) => {
      proxy = await PgProxy.start(url);
      return proxy.url;
    });
    redis = testClient();
  });
  afterAll(async () => {
    redis?.disconnect();
    await proxy?.up();
    await db?.close().catch(() => {});
    await proxy?.down();
  });

  it("keeps charging, waits, and catches up when PostgreSQL is back: nothing lost or doubled, without a restart", async () => {
    const keyPrefix = testPrefix("flushdown");
    const errors: string[] = [];
    const stores = createRedisStores({
      client: redis, keyPrefix, commandTimeoutMs: 5000, ledger: db.ledger(), ledgerFlush: { intervalMs: 100 },
      onError: (e, op) => void errors.push(`${op}: ${e instanceof Error ? e.message : String(e)}`),
    });
    const tenantId = randomUUID();
    const charge = () => stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits: { capacity: 1e6, refillPerSecond: 1 }, charge: { capability: "a.b", credits: 3, grant: 500, reservation: randomUUID() } });
    try {
      for (let i = 0; i < 10; i++) expect((await charge()).credits).toMatchObject({ outcome: "charged" });
      const ledger = db.ledger();
      await waitFor("the first flush", async () => (await ledger.balance(tenantId)) === 470);
      await proxy.down();
      for (let i = 0; i < 20; i++) expect((await charge()).credits).toMatchObject({ outcome: "charged", balance: 470 - 3 * (i + 1) });
      await waitFor("a failed flush round", () => errors.some((e) => e.startsWith("ledger-flush")));
      // Usage is the ledger's: it fails (the pipeline answers 503). A tenant whose balance Redis
      // lacks cannot be loaded: its credits fail open (through uncharged), the bucket still decides.
      await expect(stores.credits.usage(tenantId, 0)).rejects.toThrow();
      const unknown = await stores.admission.admit({ bucket: { tenantId: randomUUID(), id: "key:a" }, cost: 1, limits: { capacity: 1, refillPerSecond: 0.001 }, charge: { capability: "a.b", credits: 3, grant: 500, reservation: randomUUID() } });
      expect(unknown.bucket.allowed).toBe(true);
      expect(unknown.credits).toMatchObject({ outcome: "unavailable" });
      expect(await redis.llen(new KeyLayout(keyPrefix).ledgerQueue(tenantId))).toBe(20);
      await proxy.up();
      await waitFor("the catch-up", async () => (await ledger.balance(tenantId).catch(() => null)) === 410, 30_000);
      const entries = await ledger.entries(tenantId);
      expect(entries.filter((e) => e.kind === "charge")).toHaveLength(30);
      expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
      expect(await stores.credits.balance(tenantId, 500)).toBe(410);
      await waitFor("the queue drained", async () => (await redis.llen(new KeyLayout(keyPrefix).ledgerQueue(tenantId))) === 0);
    } finally {
      await stores.ledgerFlusher!.stop();
      await redis.del(new KeyLayout(keyPrefix).ledgerPending);
    }
  });
});

describe("Redis balances checked against the PostgreSQL ledger", () => {
  let db: TestPostgres;
  let redis: Redis;
  beforeAll(async () => {
    db = await postgres("redis_check");
    redis = testClient();
  });
  afterAll(async () => {
    redis?.disconnect();
    await db?.close();
  });
  const admit = (stores: RedisStores, tenantId: string, credits: number, grant: number) =>
    stores.admission.admit({ bucket: { tenantId, id: "key:a" }, cost: 1, limits: { capacity: 1e6, refillPerSecond: 1 }, charge: { capability: "a.b", credits, grant, reservation: randomUUID() } });

  it("a balance Redis reloaded while a flush was committing comes back to the ledger's, never stays above it", async () => {
    const keyPrefix = testPrefix("reload-race");
    const layout = new KeyLayout(keyPrefix);
    const pgLedger = db.ledger();
    let hold: Promise<void> | undefined;
    let entered: (() => void) | undefined;
    // The run's PostgreSQL ledger, with a way to hold one append open before it commits.
    const ledger = {
      append: async (entries: Parameters<typeof pgLedger.append>[0]) => {
        if (hold) {
          const h = hold;
          hold = undefined;
          entered?.();
          await h;
        }
        return pgLedger.append(entries);
      },
      balance: (t: string) => pgLedger.balance(t),
      usage: (t: string, since: number) => pgLedger.usage(t, since),
    };
    const stores = createRedisStores({ client: redis, keyPrefix, commandTimeoutMs: 5000, ledger, ledgerFlush: { autoStart: false } });
    try {
      const tenantId = randomUUID();
      await admit(stores, tenantId, 3, 100);
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      const inside = new Promise<void>((r) => (entered = r));
      const first = stores.ledgerFlusher!.flush();
      await inside;
      await redis.del(layout.credits(tenantId), layout.ledgerQueue(tenantId), layout.ledgerLease(tenantId), layout.ledgerOpened(tenantId)); // Redis loses the tenant
      expect((await admit(stores, tenantId, 2, 100)).credits).toMatchObject({ outcome: "charged", balance: 98 });
      release();
      await first;
      await stores.ledgerFlusher!.flush();
      expect(await pgLedger.balance(tenantId)).toBe(95);
      expect(await stores.credits.balance(tenantId, 100)).toBe(95);
      const entries = await pgLedger.entries(tenantId);
      expect(entries.reduce((n, e) => n + e.amount, 0)).toBe(95);
    } finally {
      await deleteKeys(redis, keyPrefix);
    }
  });

  it("a tenant charged on Redis alone before the ledger gets its opening grant: the ledger's balance equals Redis's", async () => {
    const keyPrefix = testPrefix("opening");
    const tenantId = randomUUID();
    try {
      const alone = createRedisStores({ client: redis, keyPrefix, commandTimeoutMs: 5000 });
      for (let i = 0; i < 4; i++) await admit(alone, tenantId, 5, 100);
      const stores = createRedisStores({ client: redis, keyPrefix, commandTimeoutMs: 5000, ledger: db.ledger(), ledgerFlush: { autoStart: false } });
      expect((await admit(stores, tenantId, 2, 100)).credits).toMatchObject({ outcome: "charged", balance: 78 });
      await stores.ledgerFlusher!.flush();
      expect(await db.ledger().balance(tenantId)).toBe(78);
      // After Redis loses it, the balance loaded is the ledger's: the tenant keeps paying, never 402 from a negative sum.
      await deleteKeys(redis, new KeyLayout(keyPrefix).tenant(tenantId));
      expect((await admit(stores, tenantId, 2, 100)).credits).toMatchObject({ outcome: "charged", balance: 76 });
    } finally {
      await deleteKeys(redis, keyPrefix);
    }
  });
});

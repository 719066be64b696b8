import { randomUUID } from "node:crypto";
import { createKeyHasher, createPolicy, createVerifiedKeyCache, defineCapability, readUsage } from "@alloovium/core";
import type { AdmissionRequest, LedgerEntry } from "@alloovium/core/store-kit";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryCreditLedger } from "../test/memory-ledger";
import { deleteKeys, sleep } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { createRedisStores, type RedisStores } from "./index";
import { KeyLayout } from "./keys";

const client = testClient();
const keyPrefix = testPrefix("ledger");
const commandTimeoutMs = 5000;
const layout = new KeyLayout(keyPrefix);
const opened: RedisStores[] = [];

afterAll(async () => {
  await Promise.all(opened.map((s) => s.ledgerFlusher?.stop()));
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

/** Stores in front of `ledger`, flushed only when a test says so. */
function stores(ledger: MemoryCreditLedger, c = client): RedisStores {
  const s = createRedisStores({ client: c, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false } });
  opened.push(s);
  return s;
}

function charge(tenantId: string, price: number, o: { grant?: number; key?: string; reservation?: string } = {}): AdmissionRequest {
  return {
    bucket: { tenantId, id: "key:a" },
    cost: 1,
    limits: { capacity: 1_000_000, refillPerSecond: 1 },
    ...(o.key === undefined ? {} : { claim: { ref: { tenantId, scope: "u:live", key: o.key }, fingerprint: "f", leaseMs: 60_000 } }),
    charge: { capability: "vault.projects.create", credits: price, grant: o.grant ?? 100, reservation: o.reservation ?? randomUUID() },
  };
}

/** What Redis loses in a restart without persistence, for one tenant: every key of its slot and its pending mark. */
async function lose(tenantId: string): Promise<void> {
  await deleteKeys(client, layout.tenant(tenantId));
  await client.srem(layout.ledgerPending, tenantId);
}

describe("RedisAdmission in front of a ledger", () => {
  it("queues the grant and each charge in the admission script, and the flush records them with the reservation ids", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    const a = await s.admission.admit(charge(tenantId, 3, { grant: 100, reservation: "r-1" }));
    expect(a.credits).toMatchObject({ outcome: "charged", balance: 97, credits: 3 });
    await s.admission.admit(charge(tenantId, 0, { reservation: "r-2" }));
    expect(await client.llen(layout.ledgerQueue(tenantId))).toBe(3);
    expect(await client.sismember(layout.ledgerPending, tenantId)).toBe(1);
    expect(ledger.of(tenantId)).toEqual([]); // nothing before the flush

    expect(await s.ledgerFlusher!.flush()).toBeGreaterThanOrEqual(3);
    expect(ledger.of(tenantId).map((e) => [e.kind, e.id, e.amount, e.capability, e.reservation])).toEqual([
      ["grant", `grant:${tenantId}`, 100, null, null],
      ["charge", "r-1", -3, "vault.projects.create", "r-1"],
      ["charge", "r-2", 0, "vault.projects.create", "r-2"],
    ]);
    expect(await ledger.balance(tenantId)).toBe(97);
    expect(await client.llen(layout.ledgerQueue(tenantId))).toBe(0);
  });

  it("keeps a drained tenant marked for ten flush intervals, then unmarks it; an entry queued after that marks it again", async () => {
    const ledger = new MemoryCreditLedger();
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false, intervalMs: 10 } });
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 1));
    await s.ledgerFlusher!.flush();
    expect(await client.sismember(layout.ledgerPending, tenantId)).toBe(1); // just drained: kept
    await sleep(120);
    await s.ledgerFlusher!.flush();
    await sleep(120);
    await s.ledgerFlusher!.flush();
    expect(await client.sismember(layout.ledgerPending, tenantId)).toBe(0);
    await s.admission.admit(charge(tenantId, 1));
    expect(await client.sismember(layout.ledgerPending, tenantId)).toBe(1);
    await s.ledgerFlusher!.flush();
    expect(await ledger.balance(tenantId)).toBe(98);
  });

  it("keeps any capability intact through the queue, and refuses a reservation id the queue could not carry", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = `tab\t${randomUUID()}`;
    const odd = "weird\tcap\nwith \"quotes\" and ünïcode";
    await s.credits.charge({ tenantId, capability: odd, credits: 1, grant: 5, reservation: "r-odd" });
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => [e.id, e.capability])).toEqual([[`grant:${tenantId}`, null], ["r-odd", odd]]);
    await expect(s.admission.admit(charge(tenantId, 1, { reservation: "a\tb" }))).rejects.toThrow(/reservation/);
  });

  it("refuses a charge the balance cannot hold and queues nothing for it", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 4, { grant: 5 }));
    const refused = await s.admission.admit(charge(tenantId, 4, { grant: 5 }));
    expect(refused.credits).toEqual({ outcome: "insufficient", balance: 1 });
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => e.kind)).toEqual(["grant", "charge"]);
    expect(await ledger.balance(tenantId)).toBe(1);
  });

  it("loads a balance Redis lost from the ledger, never from the grant", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    for (let i = 0; i < 5; i++) await s.admission.admit(charge(tenantId, 10, { grant: 100 }));
    await s.ledgerFlusher!.flush();
    await lose(tenantId);
    const after = await s.admission.admit(charge(tenantId, 10, { grant: 100 }));
    expect(after.credits).toMatchObject({ outcome: "charged", balance: 40 });
    expect(await s.credits.balance(tenantId, 100)).toBe(40);
    await s.ledgerFlusher!.flush();
    expect(await ledger.balance(tenantId)).toBe(40);
    expect(ledger.of(tenantId, "grant")).toHaveLength(1);
  });

  it("loads once when many first charges after a loss race, from two instances: each charged once, one grant", async () => {
    const ledger = new MemoryCreditLedger();
    const other = testClient();
    try {
      const a = stores(ledger);
      const b = stores(ledger, other);
      const tenantId = randomUUID();
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).admission.admit(charge(tenantId, 2, { grant: 60 }))));
      const charged = results.filter((r) => r.credits?.outcome === "charged").length;
      expect(charged).toBe(30);
      expect(results.filter((r) => r.credits?.outcome === "insufficient")).toHaveLength(10);
      expect(await a.credits.balance(tenantId, 60)).toBe(0);
      await Promise.all([a.ledgerFlusher!.flush(), b.ledgerFlusher!.flush()]);
      expect(ledger.of(tenantId, "grant")).toHaveLength(1);
      expect(ledger.of(tenantId, "charge")).toHaveLength(30);
      expect(await ledger.balance(tenantId)).toBe(0);
    } finally {
      other.disconnect();
    }
  });

  it("keeps charging while the ledger is down, and the flush catches up when it is back: nothing lost or doubled", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 1, { grant: 1000 }));
    ledger.down = true;
    for (let i = 0; i < 20; i++) expect((await s.admission.admit(charge(tenantId, 1))).credits).toMatchObject({ outcome: "charged" });
    await expect(s.ledgerFlusher!.flush()).rejects.toThrow("ledger down");
    expect(await client.llen(layout.ledgerQueue(tenantId))).toBe(22);
    ledger.down = false;
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId, "charge")).toHaveLength(21);
    expect(await ledger.balance(tenantId)).toBe(979);
    expect(await s.credits.balance(tenantId, 1000)).toBe(979);
    expect(ledger.batches.flat().filter((e) => e.tenantId === tenantId)).toHaveLength(22);
  });

  it("drains a backlog in one round, batch after batch", async () => {
    const ledger = new MemoryCreditLedger();
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false, batchSize: 3 } });
    const tenantId = randomUUID();
    for (let i = 0; i < 10; i++) await s.admission.admit(charge(tenantId, 1, { grant: 50 }));
    expect(await s.ledgerFlusher!.flush()).toBe(11);
    expect(ledger.batches.map((b) => b.length)).toEqual([3, 3, 3, 2]);
    expect(await ledger.balance(tenantId)).toBe(40);
  });

  it("holds back only the tenant whose entries the ledger refuses; the others are recorded", async () => {
    const bad = randomUUID();
    const ledger = new (class extends MemoryCreditLedger {
      override async append(entries: readonly LedgerEntry[]): Promise<void> {
        if (entries.some((e) => e.tenantId === bad)) throw new TypeError("refused");
        return super.append(entries);
      }
    })();
    const told: string[] = [];
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false }, onError: (e, op) => void told.push(`${op}: ${String(e)}`) });
    const good = [randomUUID(), randomUUID()];
    for (const t of [...good, bad]) await s.admission.admit(charge(t, 1, { grant: 10 }));
    expect(await s.ledgerFlusher!.flush()).toBe(4);
    for (const t of good) expect(await ledger.balance(t)).toBe(9);
    expect(ledger.of(bad)).toEqual([]);
    expect(await client.llen(layout.ledgerQueue(bad))).toBe(2); // kept for the next round
    expect(told).toContain("ledger-flush: TypeError: refused");
  });

  it("gives each entry to the ledger once when several flushers run at the same time", async () => {
    const ledger = new MemoryCreditLedger();
    const flushers = [stores(ledger), stores(ledger), stores(ledger)];
    const tenants: string[] = Array.from({ length: 8 }, () => randomUUID());
    await Promise.all(tenants.flatMap((t) => Array.from({ length: 25 }, () => flushers[0]!.admission.admit(charge(t, 1, { grant: 1000 })))));
    await Promise.all(flushers.map((f) => f.ledgerFlusher!.flush()));
    const given = ledger.batches.flat().filter((e) => tenants.includes(e.tenantId));
    expect(given).toHaveLength(8 * 26);
    expect(new Set(given.map((e) => e.id)).size).toBe(8 * 26);
    for (const t of tenants) expect(await ledger.balance(t)).toBe(975);
  });

  it("finds a queue whose pending mark was lost", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = `odd{tenant}%${randomUUID()}`;
    await s.admission.admit(charge(tenantId, 2, { grant: 10 }));
    await client.srem(layout.ledgerPending, tenantId);
    await s.ledgerFlusher!.flush(); // the first round of a flusher sweeps
    expect(await ledger.balance(tenantId)).toBe(8);
  });

  it("queues refunds (named by their charge) and top-ups, and loads a lost balance for them too", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    const a = await s.admission.admit(charge(tenantId, 5, { grant: 50, reservation: "r-9" }));
    expect(a.credits?.outcome).toBe("charged");
    const hour = a.credits?.outcome === "charged" ? a.credits.hour : 0;
    await expect(s.credits.refund({ tenantId, capability: "vault.projects.create", credits: 5, hour, grant: 50 })).rejects.toThrow(/reservation/);
    expect(await s.credits.refund({ tenantId, capability: "vault.projects.create", credits: 5, hour, grant: 50, reservation: "r-9" })).toBe(50);
    await s.ledgerFlusher!.flush();
    await lose(tenantId);
    expect(await s.credits.add(tenantId, 7, 50)).toBe(57);
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => [e.kind, e.amount, e.reservation])).toEqual([
      ["grant", 50, null],
      ["charge", -5, "r-9"],
      ["refund", 5, "r-9"],
      ["topup", 7, null],
    ]);
    expect(ledger.of(tenantId, "refund")[0]!.id).toBe("refund:r-9");
    expect(await ledger.balance(tenantId)).toBe(57);
  });

  it("fails the credits open (uncharged) while a lost balance cannot be loaded, and the bucket still decides", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    ledger.down = true;
    const r = await s.admission.admit(charge(tenantId, 5));
    expect(r.bucket.allowed).toBe(true);
    expect(r.credits).toMatchObject({ outcome: "unavailable" });
    expect(await client.exists(layout.credits(tenantId))).toBe(0);
    const closed = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false }, credits: { failure: "closed" } });
    await expect(closed.admission.admit(charge(tenantId, 5))).rejects.toThrow("ledger down");
  });

  it("checks the ledger options, naming them", () => {
    expect(() => createRedisStores({ client, ledger: {} as never })).toThrow("createRedisStores: `ledger` must be a CreditLedger (append, balance, usage)");
    expect(() => createRedisStores({ client, ledgerFlush: {} })).toThrow("`ledgerFlush` needs `ledger`");
    expect(() => createRedisStores({ client, ledger: new MemoryCreditLedger(), ledgerFlush: { intervalMs: 0 } })).toThrow("`ledgerFlush.intervalMs` must be an integer from 10 to 3600000");
  });
});

describe("a policy over Redis in front of a ledger", () => {
  const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: false, credits: 2 });

  it("meters through the queue, refunds a 5xx by its reservation, and reads usage from the ledger", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const keyCache = createVerifiedKeyCache({ store: s.keys, hasher: keyHasher, ttlMs: 60_000 });
    const policy = createPolicy({ environment: "test", keyHasher, keyCache, creditGrant: 1000, stores: s });
    const tenantId = randomUUID();
    const { key } = await mintApiKey(s.keys, keyHasher, { tenantId });
    const call = () => policy.decide(policyRequest({ method: "POST", path: create.path, key, body: "{}" }), create);
    const ok = await call();
    if (ok.kind !== "continue") throw new Error(`expected continue, got ${ok.kind}`);
    expect(ok.headers.ratelimit).toContain('"credits";r=998');
    await ok.commit({ status: 201, headers: {}, body: "made" });
    const failed = await call();
    if (failed.kind !== "continue") throw new Error(`expected continue, got ${failed.kind}`);
    await failed.commit({ status: 503, headers: {}, body: "" });
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => e.kind)).toEqual(["grant", "charge", "charge", "refund"]);
    const refund = ledger.of(tenantId, "refund")[0]!;
    expect(ledger.of(tenantId, "charge").map((e) => e.reservation)).toContain(refund.reservation);
    const usage = await readUsage(s.credits, tenantId, { grant: 1000 });
    expect(usage.balance).toBe(998);
    expect(usage.data.map(({ capability: c, calls, credits }) => ({ c, calls, credits }))).toEqual([{ c: "vault.projects.create", calls: 2, credits: 2 }]);
  });
});

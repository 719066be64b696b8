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
      override async append(entries: readonly LedgerEntry[]): Promise<void | Map<string, number>> {
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
    await s.ledgerFlusher!.flush(); // a round never sweeps (the sweep has its own timer)
    expect(await ledger.balance(tenantId)).toBeNull();
    expect(await s.ledgerFlusher!.sweep()).toBeGreaterThanOrEqual(1);
    await s.ledgerFlusher!.flush(); // the round after the sweep flushes what it found
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

describe("the review of Redis in front of a ledger", () => {
  /** A promise and its resolver. */
  function gate(): { promise: Promise<void>; open: () => void } {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    return { promise, open };
  }

  for (const answersBalances of [true, false]) {
    it(`brings a balance reloaded while a batch was in flight back to the ledger's at the next flush (append ${answersBalances ? "answers balances" : "answers nothing"})`, async () => {
      const ledger = new MemoryCreditLedger();
      ledger.answersBalances = answersBalances;
      const s = stores(ledger);
      const tenantId = randomUUID();
      await s.admission.admit(charge(tenantId, 3, { grant: 100 }));
      // The flush takes [grant 100, charge 3] and is held open inside the ledger's append.
      const held = gate();
      const inside = gate();
      ledger.beforeAppend = async () => {
        ledger.beforeAppend = undefined;
        inside.open();
        await held.promise;
      };
      const first = s.ledgerFlusher!.flush();
      await inside.promise;
      await lose(tenantId); // Redis loses the tenant: the ledger has nothing yet, so the load opens it at the grant again
      expect((await s.admission.admit(charge(tenantId, 2, { grant: 100 }))).credits).toMatchObject({ outcome: "charged", balance: 98 });
      held.open();
      await first;
      await s.ledgerFlusher!.flush();
      expect(await ledger.balance(tenantId)).toBe(95);
      expect(await client.get(layout.credits(tenantId))).toBe("95");
      expect(ledger.of(tenantId, "grant")).toHaveLength(1);
    });
  }

  it("brings a stale balance (a failover to a lagging replica) back to the ledger's at the tenant's next flush", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 10, { grant: 100, reservation: "c-1" }));
    const replica = await client.lrange(layout.ledgerQueue(tenantId), 0, -1); // what the replica had
    await s.admission.admit(charge(tenantId, 10, { grant: 100 }));
    await s.ledgerFlusher!.flush();
    expect(await ledger.balance(tenantId)).toBe(80);
    // The replica's state: the balance before the second charge, the queue before the flush.
    await client.set(layout.credits(tenantId), "90");
    await client.rpush(layout.ledgerQueue(tenantId), ...replica);
    await s.ledgerFlusher!.flush();
    expect(await client.get(layout.credits(tenantId))).toBe("80");
    expect((await s.admission.admit(charge(tenantId, 10, { grant: 100 }))).credits).toMatchObject({ outcome: "charged", balance: 70 });
  });

  it("queues the opening grant of a balance kept by Redis alone before the ledger, so the ledger's sum equals it", async () => {
    const tenantId = randomUUID();
    const alone = createRedisStores({ client, keyPrefix, commandTimeoutMs });
    await alone.credits.charge({ tenantId, capability: "vault.projects.create", credits: 10, grant: 100 });
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    expect((await s.admission.admit(charge(tenantId, 5, { grant: 100 }))).credits).toMatchObject({ outcome: "charged", balance: 85 });
    expect(await s.credits.add(tenantId, 7, 100)).toBe(92);
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => [e.kind, e.amount])).toEqual([
      ["grant", 90],
      ["charge", -5],
      ["topup", 7],
    ]);
    expect(await ledger.balance(tenantId)).toBe(92);
    // Once only: a later charge queues no second opening.
    await s.admission.admit(charge(tenantId, 1, { grant: 100 }));
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId, "grant")).toHaveLength(1);
    expect(await ledger.balance(tenantId)).toBe(91);
  });

  it("opens a tenant whose grant is 0 with a grant entry of 0 (the ledger opens a tenant by its grant)", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 0, { grant: 0 }));
    await s.ledgerFlusher!.flush();
    expect(ledger.of(tenantId).map((e) => [e.kind, e.amount])).toEqual([
      ["grant", 0],
      ["charge", 0],
    ]);
  });

  it("marks a tenant again every 64 entries, so a lost pending mark delays its flush by 64 entries at most", async () => {
    const ledger = new MemoryCreditLedger();
    const s = stores(ledger);
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 1, { grant: 1000 })); // queue: grant, charge
    await client.srem(layout.ledgerPending, tenantId); // the mark is lost
    for (let i = 0; i < 63; i++) await s.admission.admit(charge(tenantId, 1));
    expect(await client.sismember(layout.ledgerPending, tenantId)).toBe(1); // the 65th entry marked it again
    await s.ledgerFlusher!.flush();
    expect(await ledger.balance(tenantId)).toBe(936);
  });

  it("keeps a mark it could not write and writes it at the next round", async () => {
    const prefix = testPrefix("ledger-mark");
    const own = new KeyLayout(prefix);
    const ledger = new MemoryCreditLedger();
    const told: string[] = [];
    const s = createRedisStores({ client, keyPrefix: prefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false }, onError: (e) => void told.push(String(e)) });
    try {
      await s.ledgerFlusher!.flush();
      await client.set(own.ledgerPending, "not a set"); // SADD fails (WRONGTYPE)
      const tenantId = randomUUID();
      await s.admission.admit(charge(tenantId, 4, { grant: 10 }));
      await waitFor(() => told.some((t) => t.includes("WRONGTYPE")));
      await client.del(own.ledgerPending);
      await s.ledgerFlusher!.flush();
      expect(await ledger.balance(tenantId)).toBe(6);
      expect(await client.sismember(own.ledgerPending, tenantId)).toBe(1);
    } finally {
      await deleteKeys(client, prefix);
    }
  });

  it("refuses charges once a tenant's queue holds `maxQueued` entries (credits unavailable), still queues refunds", async () => {
    const ledger = new MemoryCreditLedger();
    const told: unknown[] = [];
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false, maxQueued: 3 }, onError: (e) => void told.push(e) });
    const tenantId = randomUUID();
    ledger.down = true;
    await client.set(layout.credits(tenantId), "50"); // known balance (the ledger is down)
    await client.set(layout.ledgerOpened(tenantId), "1");
    const a = await s.admission.admit(charge(tenantId, 1, { reservation: "q-1" }));
    await s.admission.admit(charge(tenantId, 1));
    await s.admission.admit(charge(tenantId, 1));
    expect(await client.llen(layout.ledgerQueue(tenantId))).toBe(3);
    const full = await s.admission.admit(charge(tenantId, 1));
    expect(full.bucket.allowed).toBe(true);
    expect(full.credits).toMatchObject({ outcome: "unavailable" });
    expect(told.some((e) => e instanceof Error && e.name === "LedgerQueueFull")).toBe(true);
    expect(await client.get(layout.credits(tenantId))).toBe("47");
    await expect(s.credits.charge({ tenantId, capability: "x", credits: 1, grant: 50 })).rejects.toThrow(/ledger queue is full/);
    const hour = a.credits?.outcome === "charged" ? a.credits.hour : 0;
    expect(await s.credits.refund({ tenantId, capability: "vault.projects.create", credits: 1, hour, grant: 50, reservation: "q-1" })).toBe(48);
    expect(await client.llen(layout.ledgerQueue(tenantId))).toBe(4);
    const closed = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false, maxQueued: 3 }, credits: { failure: "closed" } });
    await expect(closed.admission.admit(charge(tenantId, 1))).rejects.toThrow(/ledger queue is full/);
    ledger.down = false;
    await s.ledgerFlusher!.flush();
  });

  it("while a lost balance cannot be loaded, asks the ledger once a second per tenant, and never for a request the bucket refuses", async () => {
    const ledger = new (class extends MemoryCreditLedger {
      reads = 0;
      override balance(tenantId: string): Promise<number | null> {
        this.reads++;
        return super.balance(tenantId);
      }
    })();
    const s = stores(ledger);
    const tenantId = randomUUID();
    ledger.down = true;
    for (let i = 0; i < 3; i++) expect((await s.admission.admit(charge(tenantId, 1))).credits).toMatchObject({ outcome: "unavailable" });
    expect(ledger.reads).toBe(1);
    ledger.down = false;
    await sleep(1100);
    expect((await s.admission.admit(charge(tenantId, 1, { grant: 100 }))).credits).toMatchObject({ outcome: "charged", balance: 99 });

    // A bucket that refuses: the 429 needs no balance, so the lost one is not loaded for it.
    const other = randomUUID();
    const tight = (): AdmissionRequest => ({ ...charge(other, 1, { grant: 100 }), limits: { capacity: 1, refillPerSecond: 0.0001 } });
    expect((await s.admission.admit(tight())).credits).toMatchObject({ outcome: "charged" });
    await client.del(layout.credits(other));
    ledger.down = true;
    ledger.reads = 0;
    const refused = await s.admission.admit(tight());
    expect(refused.bucket.allowed).toBe(false);
    expect(refused.credits).toBeUndefined();
    expect(ledger.reads).toBe(0);
    ledger.down = false;
  });

  it("gives the ledger at most `maxAppend` entries per append (several tenants' batches grouped up to it)", async () => {
    const ledger = new MemoryCreditLedger();
    const s = createRedisStores({ client, keyPrefix: testPrefix("ledger-append"), commandTimeoutMs, ledger, ledgerFlush: { autoStart: false, batchSize: 2, maxAppend: 4 } });
    const tenants = Array.from({ length: 5 }, () => randomUUID());
    for (const t of tenants) await s.admission.admit(charge(t, 1, { grant: 10 }));
    expect(await s.ledgerFlusher!.flush()).toBe(10);
    expect(Math.max(...ledger.batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    for (const t of tenants) expect(await ledger.balance(t)).toBe(9);
  });

  it("tells onError when usage is read before the tenant's queue could be flushed (another flusher holds it), and answers the ledger's usage", async () => {
    const ledger = new MemoryCreditLedger();
    const told: string[] = [];
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false }, onError: (_, op) => void told.push(op) });
    const tenantId = randomUUID();
    await s.admission.admit(charge(tenantId, 1, { grant: 10 }));
    await client.set(layout.ledgerLease(tenantId), "another flusher", "PX", 60_000);
    expect(await s.credits.usage(tenantId, 0)).toEqual([]);
    expect(told).toContain("usage");
    await client.del(layout.ledgerLease(tenantId));
    expect((await s.credits.usage(tenantId, 0)).map((u) => u.calls)).toEqual([1]);
  });

  it("sets aside an entry the ledger refuses three rounds in a row, tells onError, and records the tenant's later entries", async () => {
    const ledger = new (class extends MemoryCreditLedger {
      override async append(entries: readonly LedgerEntry[]): Promise<void | Map<string, number>> {
        if (entries.some((e) => e.id === "bad")) throw new TypeError("refused");
        return super.append(entries);
      }
    })();
    const told: unknown[] = [];
    const prefix = testPrefix("ledger-dead");
    const own = new KeyLayout(prefix);
    const s = createRedisStores({ client, keyPrefix: prefix, commandTimeoutMs, ledger, ledgerFlush: { autoStart: false }, onError: (e) => void told.push(e) });
    try {
      const tenantId = randomUUID();
      for (const r of ["c-1", "bad", "c-2"]) await s.admission.admit(charge(tenantId, 1, { grant: 10, reservation: r }));
      for (let i = 0; i < 2; i++) await expect(s.ledgerFlusher!.flush()).rejects.toThrow("refused");
      expect(ledger.of(tenantId)).toEqual([]);
      await s.ledgerFlusher!.flush(); // the third refusal: the refused entry is set aside
      expect(ledger.of(tenantId).map((e) => e.id)).toEqual([`grant:${tenantId}`, "c-1", "c-2"]);
      expect(await client.lrange(own.ledgerDead(tenantId), 0, -1)).toEqual([expect.stringMatching(/^charge\t-1\t\d+\tbad\t/)]);
      expect(await client.llen(own.ledgerQueue(tenantId))).toBe(0);
      expect(told.some((e) => e instanceof Error && /set aside/.test(e.message))).toBe(true);
    } finally {
      await deleteKeys(client, prefix);
    }
  });
});

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(10);
  expect(done()).toBe(true);
}

import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eachTest } from "./harness";
import { HOUR_MS, hourStart, type CreditStore, type UsageRow } from "../credits";

/** What a credit store implementation gives the suite. */
export interface CreditStoreHarness {
  readonly store: CreditStore;
  /** The store's clock now, in ms (the server's, for Redis), to check usage hours. */
  now(): Promise<number> | number;
  cleanup?(): Promise<void>;
}

/** Sums rows per capability (a test may straddle an hour boundary). */
function totals(rows: readonly UsageRow[]): Record<string, { calls: number; credits: number }> {
  const out: Record<string, { calls: number; credits: number }> = {};
  for (const r of rows) {
    const t = (out[r.capability] ??= { calls: 0, credits: 0 });
    t.calls += r.calls;
    t.credits += r.credits;
  }
  return out;
}

/** The `CreditStore` contract; `setup` runs before each test. */
export function creditStoreConformance(name: string, setup: () => Promise<CreditStoreHarness> | CreditStoreHarness): void {
  describe(`CreditStore conformance: ${name}`, () => {
    let h: CreditStoreHarness, tenant: string;
    eachTest(setup, (harness, tenantId) => ((h = harness), (tenant = tenantId)));

    it("starts a new tenant at the grant and takes the price", async () => {
      expect(await h.store.balance(tenant, 100)).toBe(100);
      const before = await h.now();
      const r = await h.store.charge({ tenantId: tenant, capability: "vault.projects.create", credits: 2, grant: 100 });
      expect(r).toMatchObject({ allowed: true, balance: 98, charged: 2 });
      expect(r.hour % HOUR_MS).toBe(0);
      expect(r.hour).toBeGreaterThanOrEqual(hourStart(before));
      expect(await h.store.balance(tenant, 100)).toBe(98);
      // The grant applies to a tenant never charged only.
      expect(await h.store.balance(tenant, 5)).toBe(98);
    });

    it("refuses a price above the balance, taking and counting nothing", async () => {
      await h.store.charge({ tenantId: tenant, capability: "a.b", credits: 4, grant: 5 });
      const r = await h.store.charge({ tenantId: tenant, capability: "a.b", credits: 2, grant: 5 });
      expect(r).toMatchObject({ allowed: false, balance: 1, charged: 0 });
      expect(await h.store.balance(tenant, 5)).toBe(1);
      expect(totals(await h.store.usage(tenant, r.hour))).toEqual({ "a.b": { calls: 1, credits: 4 } });
    });

    it("takes the balance to exactly zero, and a price of 0 is still admitted and counted", async () => {
      expect((await h.store.charge({ tenantId: tenant, capability: "a.b", credits: 3, grant: 3 })).balance).toBe(0);
      const free = await h.store.charge({ tenantId: tenant, capability: "meta.whoami", credits: 0, grant: 3 });
      expect(free).toMatchObject({ allowed: true, balance: 0, charged: 0 });
      expect(totals(await h.store.usage(tenant, free.hour - HOUR_MS))).toEqual({ "a.b": { calls: 1, credits: 3 }, "meta.whoami": { calls: 1, credits: 0 } });
    });

    it("never goes below zero when many charges race for the last credits", async () => {
      const results = await Promise.all(
        Array.from({ length: 60 }, () => h.store.charge({ tenantId: tenant, capability: "a.b", credits: 3, grant: 100 })),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(33);
      expect(Math.min(...results.map((r) => r.balance))).toBeGreaterThanOrEqual(0);
      expect(await h.store.balance(tenant, 100)).toBe(1);
      expect(totals(await h.store.usage(tenant, results[0]!.hour - HOUR_MS))["a.b"]).toEqual({ calls: 33, credits: 99 });
    });

    it("refunds into the balance and out of the charge's hour of usage, keeping the call", async () => {
      // As the pipeline does: the refund names its charge's reservation (a store may require it).
      const reservation = randomUUID();
      const r = await h.store.charge({ tenantId: tenant, capability: "a.b", credits: 7, grant: 10, reservation });
      expect(await h.store.refund({ tenantId: tenant, capability: "a.b", credits: 7, hour: r.hour, grant: 10, reservation })).toBe(10);
      expect(await h.store.balance(tenant, 10)).toBe(10);
      expect(await h.store.usage(tenant, r.hour)).toEqual([{ hour: r.hour, capability: "a.b", calls: 1, credits: 0 }]);
    });

    it("adds credits (a top-up), from the grant for a new tenant", async () => {
      expect(await h.store.add(tenant, 50, 100)).toBe(150);
      expect(await h.store.add(tenant, 1, 100)).toBe(151);
      await expect(h.store.add(tenant, 0, 100)).rejects.toThrow(TypeError);
      await expect(h.store.add(tenant, 1.5, 100)).rejects.toThrow(TypeError);
    });

    it("keeps tenants apart", async () => {
      const other = randomUUID();
      const r = await h.store.charge({ tenantId: tenant, capability: "a.b", credits: 9, grant: 10 });
      expect(await h.store.balance(other, 10)).toBe(10);
      expect(await h.store.usage(other, r.hour - HOUR_MS)).toEqual([]);
    });

    it("answers usage rows oldest hour first then by capability, from the hour of `sinceMs` on", async () => {
      const a = await h.store.charge({ tenantId: tenant, capability: "z.last", credits: 1, grant: 10 });
      await h.store.charge({ tenantId: tenant, capability: "a.first", credits: 2, grant: 10 });
      await h.store.charge({ tenantId: tenant, capability: "a.first", credits: 2, grant: 10 });
      const rows = await h.store.usage(tenant, a.hour);
      const sorted = [...rows].sort((x, y) => x.hour - y.hour || (x.capability < y.capability ? -1 : 1));
      expect(rows).toEqual(sorted);
      expect(totals(rows)).toEqual({ "a.first": { calls: 2, credits: 4 }, "z.last": { calls: 1, credits: 1 } });
      // Nothing in a later hour.
      expect(await h.store.usage(tenant, a.hour + 2 * HOUR_MS)).toEqual([]);
    });

    it("rejects a price that is not an integer >= 0", async () => {
      await expect(h.store.charge({ tenantId: tenant, capability: "a.b", credits: -1, grant: 10 })).rejects.toThrow(TypeError);
      await expect(h.store.charge({ tenantId: tenant, capability: "a.b", credits: 0.5, grant: 10 })).rejects.toThrow(TypeError);
      expect(await h.store.balance(tenant, 10)).toBe(10);
    });
  });
}

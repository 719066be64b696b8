import { describe, expect, it } from "vitest";
import { FakeClock } from "../testing";
import { MemoryCreditStore } from "./memory";
import { HOUR_MS, hourStart } from "./store";
import { readUsage } from "./usage";

describe("hourStart", () => {
  it("floors to the UTC hour, also before the epoch", () => {
    expect(hourStart(Date.parse("2026-04-02T10:59:59.999Z"))).toBe(Date.parse("2026-04-02T10:00:00Z"));
    expect(hourStart(Date.parse("2026-04-02T10:00:00Z"))).toBe(Date.parse("2026-04-02T10:00:00Z"));
    expect(hourStart(-1)).toBe(-HOUR_MS);
  });
});

describe("readUsage", () => {
  it("answers the balance and the last 24 hours, current hour included, in the platform's time form", async () => {
    const clock = new FakeClock(Date.parse("2026-04-02T10:30:00Z"));
    const store = new MemoryCreditStore({ clock });
    await store.charge({ tenantId: "t", capability: "vault.projects.list", credits: 1, grant: 100 });
    clock.advance(HOUR_MS); // 11:30
    await store.charge({ tenantId: "t", capability: "vault.projects.create", credits: 2, grant: 100 });
    await store.charge({ tenantId: "t", capability: "vault.projects.list", credits: 1, grant: 100 });
    clock.advance(23 * HOUR_MS); // next day 10:30: the 10:00 hour of yesterday is 24 hours back, out
    await store.charge({ tenantId: "t", capability: "meta.whoami", credits: 0, grant: 100 });
    const report = await readUsage(store, "t", { clock, grant: 100 });
    expect(report).toEqual({
      balance: 96,
      data: [
        { hour: "2026-04-02T11:00:00+00:00", capability: "vault.projects.create", calls: 1, credits: 2 },
        { hour: "2026-04-02T11:00:00+00:00", capability: "vault.projects.list", calls: 1, credits: 1 },
        { hour: "2026-04-03T10:00:00+00:00", capability: "meta.whoami", calls: 1, credits: 0 },
      ],
    });
    expect((await readUsage(store, "t", { clock, grant: 100, hours: 25 })).data).toHaveLength(4);
    expect(await readUsage(store, "other", { clock, grant: 7 })).toEqual({ balance: 7, data: [] });
    await expect(readUsage(store, "t", { hours: 0 })).rejects.toThrow(/hours/);
  });

  it("forgets hours past the retention", async () => {
    const clock = new FakeClock(Date.parse("2026-04-02T10:30:00Z"));
    const store = new MemoryCreditStore({ clock, retentionMs: 2 * HOUR_MS });
    await store.charge({ tenantId: "t", capability: "a.b", credits: 1, grant: 10 });
    clock.advance(3 * HOUR_MS);
    await store.charge({ tenantId: "t", capability: "a.b", credits: 1, grant: 10 });
    expect(await store.usage("t", 0)).toEqual([{ hour: Date.parse("2026-04-02T13:00:00Z"), capability: "a.b", calls: 1, credits: 1 }]);
    expect(await store.balance("t", 10)).toBe(8); // the balance itself never expires
  });
});

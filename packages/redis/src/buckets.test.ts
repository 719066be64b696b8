import { randomUUID } from "node:crypto";
import { MemoryBucketStore } from "@alloovium/core";
import { FakeClock } from "@alloovium/core/testing";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { deleteKeys } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { RedisBucketStore } from "./buckets";

const client = testClient();
const keyPrefix = testPrefix("buckets");
afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

describe("RedisBucketStore arithmetic", () => {
  // Upgrades are left out on purpose: a full bucket is no key in Redis, so it is full at a larger
  // capacity too, where the memory store keeps the smaller count (see the test below).
  it("decides exactly as the core's MemoryBucketStore for any sequence of costs and tier downgrades", async () => {
    const store = new RedisBucketStore({ client, keyPrefix, commandTimeoutMs: 10_000, failure: "closed" });
    // A refill so slow that the real time the server sees passing changes no whole token.
    const step = fc.record({ cost: fc.integer({ min: 0, max: 8 }), capacity: fc.constantFrom(1, 5, 10, 20) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (drawn) => {
        const capacities = drawn.map((s) => s.capacity).sort((a, b) => b - a);
        const steps = drawn.map((s, i) => ({ cost: s.cost, capacity: capacities[i]! }));
        const memory = new MemoryBucketStore({ clock: new FakeClock() });
        const ref = { tenantId: randomUUID(), id: "key:prop" };
        for (const { cost, capacity } of steps) {
          const limits = { capacity, refillPerSecond: 0.0001 };
          const r = await store.consume(ref, cost, limits);
          const m = memory.consumeNow(ref, cost, limits);
          expect({ allowed: r.allowed, remaining: r.remaining }).toEqual({ allowed: m.allowed, remaining: m.remaining });
        }
      }),
      { numRuns: 40 },
    );
  });

  it("refuses a cost or limits no bucket can be asked, rather than send them as NaN or 0", async () => {
    const store = new RedisBucketStore({ client, keyPrefix, commandTimeoutMs: 5000, failure: "closed" });
    const ref = { tenantId: randomUUID(), id: "key:bad" };
    const ok = { capacity: 5, refillPerSecond: 1 };
    for (const cost of [Number.NaN, Number.POSITIVE_INFINITY, -1, null, undefined]) {
      await expect(store.consume(ref, cost as number, ok), String(cost)).rejects.toThrow(/RedisBucketStore\.consume: `cost`/);
    }
    for (const limits of [{ capacity: undefined, refillPerSecond: 1 }, { capacity: 1e13, refillPerSecond: 1 }, { capacity: 5, refillPerSecond: 0 }, { capacity: 1.5, refillPerSecond: 1 }]) {
      await expect(store.consume(ref, 1, limits as never), JSON.stringify(limits)).rejects.toThrow(/limits must have an integer capacity/);
      await expect(store.consumeAll([{ ref, limits: ok }, { ref: { ...ref, id: "tenant" }, limits: limits as never }], 1)).rejects.toThrow(/consumeAll: limits/);
    }
    expect(await store.consume(ref, 1, ok)).toMatchObject({ allowed: true, remaining: 4 }); // nothing was taken before
  });

  it("treats a full bucket as unused: a larger capacity applies in full at once", async () => {
    const store = new RedisBucketStore({ client, keyPrefix, commandTimeoutMs: 5000, failure: "closed" });
    const ref = { tenantId: randomUUID(), id: "key:upgrade" };
    expect((await store.consume(ref, 0, { capacity: 60, refillPerSecond: 1 })).remaining).toBe(60);
    expect((await store.consume(ref, 1, { capacity: 3000, refillPerSecond: 50 })).remaining).toBe(2999);
    // A bucket that is not full keeps its count and refills at the new rate.
    expect((await store.consume(ref, 1, { capacity: 12000, refillPerSecond: 0.0001 })).remaining).toBe(2998);
  });
});

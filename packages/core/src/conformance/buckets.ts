import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eachTest } from "./harness";
import { retryAfterOf, retryAfterSeconds, type BucketDemand, type BucketLimits, type BucketRef, type BucketResult, type BucketStore } from "../buckets";

/** What a bucket store implementation gives the suite. */
export interface BucketStoreHarness {
  readonly store: BucketStore;
  /** Lets at least `ms` of the store's clock pass (a fake clock moves; a real server is waited for, never less: a bare timer may fire early). */
  advance(ms: number): Promise<void>;
  /**
   * True when `advance` moves a fake clock: exactly `ms` pass and nothing else does, so the
   * time properties run many cases and check exact bounds. Otherwise a few, with lower bounds.
   */
  readonly fakeClock?: boolean;
  cleanup?(): Promise<void>;
}

// Slow enough that no refill can happen during a test, however loaded the machine.
const SLOW = 0.0001;

/** `t` of the RateLimit header. */
const tOf = (r: BucketResult): number => Math.ceil(r.nextTokenMs / 1000);

/** What every result must say of itself: t is 0 exactly when full, and a refusal's Retry-After is never earlier than t. */
function expectCoherent(r: BucketResult, limits: BucketLimits, cost: number): void {
  expect(r.remaining).toBeGreaterThanOrEqual(0);
  expect(r.remaining).toBeLessThanOrEqual(limits.capacity);
  expect(r.nextTokenMs === 0).toBe(r.remaining === limits.capacity);
  // The next whole token is never more than one token's refill away.
  expect(r.nextTokenMs).toBeLessThanOrEqual(Math.ceil(1000 / limits.refillPerSecond));
  if (r.allowed) expect(r.retryAfterMs).toBe(0);
  if (!r.allowed && r.remaining < cost) {
    expect(r.retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterSeconds(r.retryAfterMs)).toBeGreaterThanOrEqual(tOf(r));
  }
}

/**
 * The `BucketStore` contract. `setup` is called before each test and must return a fresh store
 * (or one on a fresh key namespace).
 */
export function bucketStoreConformance(name: string, setup: () => Promise<BucketStoreHarness> | BucketStoreHarness): void {
  describe(`BucketStore conformance: ${name}`, () => {
    let h: BucketStoreHarness, ref: BucketRef;
    eachTest(setup, (harness, tenantId) => {
      h = harness;
      ref = { tenantId, id: `key:${randomUUID()}` };
    });

    it("starts full and takes the cost", async () => {
      const r = await h.store.consume(ref, 2, { capacity: 5, refillPerSecond: SLOW });
      expect(r.allowed).toBe(true);
      expect(r.remaining).toBe(3);
      expect(r.retryAfterMs).toBe(0);
      expect(r.resetMs).toBeGreaterThan(0);
    });

    it("admits exactly the capacity, then rejects with a retry time", async () => {
      const limits = { capacity: 5, refillPerSecond: SLOW };
      for (let i = 0; i < 5; i++) expect((await h.store.consume(ref, 1, limits)).allowed).toBe(true);
      const r = await h.store.consume(ref, 1, limits);
      expect(r.allowed).toBe(false);
      expect(r.remaining).toBe(0);
      expect(r.retryAfterMs).toBeGreaterThan(0);
    });

    it("takes nothing from a rejected request", async () => {
      const limits = { capacity: 10, refillPerSecond: SLOW };
      expect((await h.store.consume(ref, 7, limits)).remaining).toBe(3);
      const rejected = await h.store.consume(ref, 5, limits);
      expect(rejected.allowed).toBe(false);
      expect(rejected.remaining).toBe(3);
      const last = await h.store.consume(ref, 3, limits);
      expect(last.allowed).toBe(true);
      expect(last.remaining).toBe(0);
    });

    it("reads without taking at cost 0", async () => {
      const limits = { capacity: 4, refillPerSecond: SLOW };
      await h.store.consume(ref, 1, limits);
      const reads = [await h.store.consume(ref, 0, limits), await h.store.consume(ref, 0, limits)];
      expect(reads.map((r) => [r.allowed, r.remaining])).toEqual([[true, 3], [true, 3]]);
    });

    it("says how long until the cost is available", async () => {
      const limits = { capacity: 5, refillPerSecond: 1 };
      await h.store.consume(ref, 5, limits);
      const r = await h.store.consume(ref, 3, limits);
      expect(r.allowed).toBe(false);
      // 3 tokens at 1/s, less whatever trickled in meanwhile.
      expect(r.retryAfterMs).toBeLessThanOrEqual(3000);
      expect(r.retryAfterMs).toBeGreaterThan(1500);
    });

    it("refills over time on the store's clock", async () => {
      const limits = { capacity: 2, refillPerSecond: 10 };
      await h.store.consume(ref, 2, limits);
      await h.advance(350);
      const r = await h.store.consume(ref, 1, limits);
      expect(r.allowed).toBe(true);
    });

    it("never holds more than the capacity", async () => {
      const limits = { capacity: 3, refillPerSecond: 100 };
      await h.store.consume(ref, 1, limits);
      await h.advance(500);
      const r = await h.store.consume(ref, 0, limits);
      expect(r.remaining).toBe(3);
      expect(r.resetMs).toBe(0);
    });

    it("applies a smaller capacity at once", async () => {
      await h.store.consume(ref, 0, { capacity: 100, refillPerSecond: SLOW });
      const r = await h.store.consume(ref, 1, { capacity: 10, refillPerSecond: SLOW });
      expect(r.allowed).toBe(true);
      expect(r.remaining).toBe(9);
    });

    it("keeps tenants apart even for the same bucket id", async () => {
      const limits = { capacity: 2, refillPerSecond: SLOW };
      const other = { tenantId: randomUUID(), id: ref.id };
      await h.store.consume(ref, 2, limits);
      expect((await h.store.consume(ref, 1, limits)).allowed).toBe(false);
      expect((await h.store.consume(other, 1, limits)).allowed).toBe(true);
    });

    it("admits exactly the capacity under concurrency", async () => {
      const limits = { capacity: 20, refillPerSecond: SLOW };
      const results = await Promise.all(Array.from({ length: 60 }, () => h.store.consume(ref, 1, limits)));
      expect(results.filter((r) => r.allowed)).toHaveLength(20);
    });

    it("answers t = 0 when full, t for the next whole token otherwise, and Retry-After for the whole cost", async () => {
      const limits = { capacity: 10, refillPerSecond: 0.5 };
      const full = await h.store.consume(ref, 0, limits);
      expect([full.remaining, tOf(full)]).toEqual([10, 0]);
      const used = await h.store.consume(ref, 10, limits);
      // The next token is 2 s away (at 0.5/s), the bucket full only in 20 s.
      expect([used.remaining, tOf(used)]).toEqual([0, 2]);
      const refused = await h.store.consume(ref, 3, limits);
      expect(refused.allowed).toBe(false);
      expect(tOf(refused)).toBe(2);
      expect(retryAfterSeconds(refused.retryAfterMs)).toBe(6);
    });

    it("keeps t and Retry-After coherent over any costs and limits (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 50 }),
          fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 12 }),
          async (capacity, costs) => {
            const limits = { capacity, refillPerSecond: SLOW };
            const bucket = { tenantId: ref.tenantId, id: `key:${randomUUID()}` };
            let model = capacity;
            for (const cost of costs) {
              const r = await h.store.consume(bucket, cost, limits);
              expect(r.allowed).toBe(model >= cost);
              if (r.allowed) model -= cost;
              expect(r.remaining).toBe(model);
              expectCoherent(r, limits, cost);
            }
          },
        ),
        { numRuns: h.fakeClock ? 100 : 25 },
      );
    });

    it("has one more whole token after t's milliseconds, and the cost after Retry-After's (fast-check over time)", async () => {
      const rates = h.fakeClock ? fc.oneof(fc.integer({ min: 1, max: 200 }), fc.constantFrom(0.1, 0.25, 0.4, 0.5, 0.75)) : fc.constantFrom(20, 40, 50);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 40 }),
          rates,
          // On a real clock every wait is real: small costs (at most half a second to refill).
          fc.array(fc.tuple(fc.integer({ min: 0, max: h.fakeClock ? 40 : 10 }), fc.integer({ min: 0, max: h.fakeClock ? 3000 : 30 })), { minLength: 1, maxLength: h.fakeClock ? 8 : 3 }),
          async (capacity, refillPerSecond, steps) => {
            const limits = { capacity, refillPerSecond };
            const bucket = { tenantId: ref.tenantId, id: `key:${randomUUID()}` };
            for (const [cost, wait] of steps) {
              await h.advance(wait);
              const r = await h.store.consume(bucket, cost, limits);
              expectCoherent(r, limits, cost);
              if (r.nextTokenMs === 0) continue;
              if (h.fakeClock && r.nextTokenMs > 1) {
                // t is not early: a millisecond before, no new whole token yet.
                await h.advance(r.nextTokenMs - 1);
                expect((await h.store.consume(bucket, 0, limits)).remaining).toBe(r.remaining);
                await h.advance(1);
              } else {
                await h.advance(r.nextTokenMs);
              }
              const next = await h.store.consume(bucket, 0, limits);
              if (h.fakeClock) expect(next.remaining).toBe(r.remaining + 1);
              else expect(next.remaining).toBeGreaterThanOrEqual(r.remaining + 1);
              if (!r.allowed && cost <= capacity) {
                // Retry-After is measured from the refusal; t's milliseconds have passed since.
                const rest = Math.max(0, r.retryAfterMs - r.nextTokenMs);
                if (h.fakeClock && rest > 1) {
                  await h.advance(rest - 1);
                  expect((await h.store.consume(bucket, cost, limits)).allowed).toBe(false);
                  await h.advance(1);
                } else {
                  await h.advance(rest);
                }
                expect((await h.store.consume(bucket, cost, limits)).allowed).toBe(true);
              }
            }
          },
        ),
        { numRuns: h.fakeClock ? 100 : 4 },
      );
    });

    describe("consumeAll (a tenant-wide bucket with the credential's)", () => {
      const all = (buckets: readonly BucketDemand[], cost: number) => {
        if (!h.store.consumeAll) throw new Error("this store has no consumeAll");
        return h.store.consumeAll(buckets, cost);
      };
      const has = () => typeof h.store.consumeAll === "function";

      it("takes the cost from every bucket or from none", async (ctx) => {
        if (!has()) return ctx.skip();
        const keyLimits = { capacity: 10, refillPerSecond: SLOW };
        const tenantLimits = { capacity: 6, refillPerSecond: SLOW };
        const tenant = { ref: { tenantId: ref.tenantId, id: "tenant" }, limits: tenantLimits };
        const a = { ref, limits: keyLimits };
        const [k1, t1] = await all([a, tenant], 4);
        expect([k1!.allowed, k1!.remaining, t1!.allowed, t1!.remaining]).toEqual([true, 6, true, 2]);
        // The key holds 3, the tenant only 2: refused, and neither bucket gives anything.
        const [k2, t2] = await all([a, tenant], 3);
        expect([k2!.allowed, k2!.remaining, t2!.allowed, t2!.remaining]).toEqual([false, 6, false, 2]);
        expect(k2!.retryAfterMs).toBe(0); // the key alone held the cost
        expect(t2!.retryAfterMs).toBeGreaterThan(0);
        expect(retryAfterOf([k2!, t2!])).toBe(retryAfterSeconds(t2!.retryAfterMs));
        expect((await h.store.consume(ref, 0, keyLimits)).remaining).toBe(6);
        expect((await h.store.consume(tenant.ref, 0, tenantLimits)).remaining).toBe(2);
        // Another credential of the tenant shares the tenant bucket.
        const b = { ref: { tenantId: ref.tenantId, id: `key:${randomUUID()}` }, limits: keyLimits };
        const [kb, tb] = await all([b, tenant], 2);
        expect([kb!.allowed, kb!.remaining, tb!.remaining]).toEqual([true, 8, 0]);
        expect((await all([a, tenant], 1))[0]!.allowed).toBe(false);
        // Another tenant's bucket of the same id is its own.
        const elsewhere = { ref: { tenantId: randomUUID(), id: "tenant" }, limits: tenantLimits };
        expect((await all([{ ref: { tenantId: elsewhere.ref.tenantId, id: ref.id }, limits: keyLimits }, elsewhere], 1))[1]!.remaining).toBe(5);
      });

      it("admits exactly the tenant's capacity from two credentials under concurrency", async (ctx) => {
        if (!has()) return ctx.skip();
        const keyLimits = { capacity: 15, refillPerSecond: SLOW };
        const tenant = { ref: { tenantId: ref.tenantId, id: "tenant" }, limits: { capacity: 20, refillPerSecond: SLOW } };
        const keys = [ref, { tenantId: ref.tenantId, id: `key:${randomUUID()}` }];
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => all([{ ref: keys[i % 2]!, limits: keyLimits }, tenant], 1)));
        expect(results.filter(([k]) => k!.allowed)).toHaveLength(20);
        const perKey = keys.map((_, j) => results.filter(([k], i) => i % 2 === j && k!.allowed).length);
        for (const n of perKey) expect(n).toBeLessThanOrEqual(15);
        expect((await h.store.consume(tenant.ref, 0, tenant.limits)).remaining).toBe(0);
      });

      it("decides both buckets as one over any costs (fast-check)", async (ctx) => {
        if (!has()) return ctx.skip();
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 30 }),
            fc.integer({ min: 1, max: 30 }),
            fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 12 })), { minLength: 1, maxLength: 12 }),
            async (keyCapacity, tenantCapacity, steps) => {
              const tenantId = randomUUID();
              const keyLimits = { capacity: keyCapacity, refillPerSecond: SLOW };
              const tenant = { ref: { tenantId, id: "tenant" }, limits: { capacity: tenantCapacity, refillPerSecond: SLOW } };
              const keys = [{ tenantId, id: "key:a" }, { tenantId, id: "key:b" }];
              const model = { own: [keyCapacity, keyCapacity], tenant: tenantCapacity };
              for (const [second, cost] of steps) {
                const i = second ? 1 : 0;
                const [k, t] = await all([{ ref: keys[i]!, limits: keyLimits }, tenant], cost);
                const ok = model.own[i]! >= cost && model.tenant >= cost;
                expect([k!.allowed, t!.allowed]).toEqual([ok, ok]);
                if (ok) {
                  model.own[i]! -= cost;
                  model.tenant -= cost;
                }
                expect([k!.remaining, t!.remaining]).toEqual([model.own[i], model.tenant]);
                expectCoherent(k!, keyLimits, cost);
                expectCoherent(t!, tenant.limits, cost);
                if (!ok) expect(retryAfterOf([k!, t!])).toBeGreaterThanOrEqual(Math.max(model.own[i]! < cost ? tOf(k!) : 0, model.tenant < cost ? tOf(t!) : 0));
              }
            },
          ),
          { numRuns: h.fakeClock ? 100 : 20 },
        );
      });
    });
  });
}

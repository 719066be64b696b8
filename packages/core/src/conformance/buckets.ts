import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BucketRef, BucketStore } from "../buckets";

/** What a bucket store implementation gives the suite. */
export interface BucketStoreHarness {
  readonly store: BucketStore;
  /** Lets `ms` of the store's clock pass (a fake clock moves; a real server is waited for). */
  advance(ms: number): Promise<void>;
  cleanup?(): Promise<void>;
}

// Slow enough that no refill can happen during a test, however loaded the machine.
const SLOW = 0.0001;

/**
 * The `BucketStore` contract. `setup` is called before each test and must return a fresh store
 * (or one on a fresh key namespace).
 */
export function bucketStoreConformance(name: string, setup: () => Promise<BucketStoreHarness> | BucketStoreHarness): void {
  describe(`BucketStore conformance: ${name}`, () => {
    let h: BucketStoreHarness;
    let ref: BucketRef;
    beforeEach(async () => {
      h = await setup();
      ref = { tenantId: randomUUID(), id: `key:${randomUUID()}` };
    });
    afterEach(async () => {
      await h.cleanup?.();
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
      const a = await h.store.consume(ref, 0, limits);
      const b = await h.store.consume(ref, 0, limits);
      expect(a.allowed).toBe(true);
      expect(a.remaining).toBe(3);
      expect(b.remaining).toBe(3);
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
  });
}

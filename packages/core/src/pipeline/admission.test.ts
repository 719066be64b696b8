import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryBucketStore, type BucketStore } from "../buckets";
import { MemoryCreditStore, type CreditStore } from "../credits";
import { MemoryIdempotencyStore } from "../idempotency";
import { FakeClock } from "../testing";
import { composeAdmission, type AdmissionRequest } from "./admission";

/** The same store seen only through its interface: no synchronous methods to find. */
function asyncOnly<T extends object>(store: T): T {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter((m) => m !== "constructor" && !m.endsWith("Now"));
  return Object.fromEntries(methods.map((m) => [m, (...a: unknown[]) => (store as Record<string, (...x: unknown[]) => unknown>)[m]!(...a)])) as T;
}

const step = fc.record({
  cost: fc.integer({ min: 0, max: 7 }),
  price: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  tenant: fc.boolean(),
  advanceMs: fc.integer({ min: 0, max: 3000 }),
});

describe("composeAdmission over stores in this process", () => {
  it("answers at once, without a promise, when no idempotency record is claimed", () => {
    const clock = new FakeClock();
    const admission = composeAdmission(new MemoryBucketStore({ clock }), new MemoryIdempotencyStore({ clock }), new MemoryCreditStore({ clock }));
    const r = admission.admit({ bucket: { tenantId: "t", id: "key:k" }, cost: 1, limits: { capacity: 5, refillPerSecond: 1 }, charge: { capability: "a.b", credits: 2, grant: 10 } });
    expect(r).not.toBeInstanceOf(Promise);
    expect(r).toMatchObject({ bucket: { allowed: true, remaining: 4 }, credits: { outcome: "charged", balance: 8, credits: 2 } });
    const claimed = admission.admit({ bucket: { tenantId: "t", id: "key:k" }, cost: 1, limits: { capacity: 5, refillPerSecond: 1 }, claim: { ref: { tenantId: "t", scope: "u:live", key: "i" }, fingerprint: "f", leaseMs: 1000 } });
    expect(claimed).toBeInstanceOf(Promise);
  });

  it("decides exactly as the asynchronous path over the same kind of stores, for any sequence of requests", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const run = async (wrap: <T extends object>(s: T) => T) => {
          const clock = new FakeClock();
          const buckets: BucketStore = wrap(new MemoryBucketStore({ clock }));
          const credits: CreditStore = wrap(new MemoryCreditStore({ clock }));
          const admission = composeAdmission(buckets, new MemoryIdempotencyStore({ clock }), credits);
          const out: unknown[] = [];
          for (const s of steps) {
            clock.advance(s.advanceMs);
            const request: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = { bucket: { tenantId: "t", id: "key:k" }, cost: s.cost, limits: { capacity: 6, refillPerSecond: 1 } };
            if (s.tenant) request.tenant = { ref: { tenantId: "t", id: "tenant" }, limits: { capacity: 9, refillPerSecond: 2 } };
            if (s.price !== undefined) request.charge = { capability: "vault.projects.create", credits: s.price, grant: 50 };
            out.push(await admission.admit(request));
          }
          return out;
        };
        expect(await run((s) => s)).toEqual(await run(asyncOnly));
      }),
      { numRuns: 200 },
    );
  });
});

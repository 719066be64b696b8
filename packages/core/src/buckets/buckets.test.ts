import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../testing";
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds, windowSeconds } from "./headers";
import { MemoryBucketStore } from "./memory";
import { refillTokens, takeTokens } from "./store";
import { DEFAULT_TIER_LIMITS, tierLimits } from "./tiers";

const limitsArb = fc.record({ capacity: fc.integer({ min: 1, max: 20_000 }), refillPerSecond: fc.double({ min: 0.001, max: 500, noNaN: true }) });

describe("bucket arithmetic", () => {
  it("never goes below zero or above capacity, and a rejection takes nothing", () => {
    fc.assert(
      fc.property(limitsArb, fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 5_000 })), { maxLength: 60 }), (limits, steps) => {
        let tokens = limits.capacity;
        for (const [cost, elapsed] of steps) {
          tokens = refillTokens(tokens, elapsed, limits);
          const d = takeTokens(tokens, cost, limits);
          expect(d.after).toBeGreaterThanOrEqual(0);
          expect(d.after).toBeLessThanOrEqual(limits.capacity);
          if (!d.allowed) {
            expect(d.after).toBe(tokens);
            expect(d.result.retryAfterMs).toBeGreaterThan(0);
          } else {
            expect(d.result.retryAfterMs).toBe(0);
          }
          expect(d.result.remaining).toBe(Math.floor(d.after + 1e-9));
          tokens = d.after;
        }
      }),
    );
  });

  it("admits exactly capacity + min(refill, capacity) per second of unit requests over a span", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 10 }), (capacity, rate, seconds) => {
        const clock = new FakeClock();
        const store = new MemoryBucketStore({ clock });
        const ref = { tenantId: "t", id: "k" };
        const limits = { capacity, refillPerSecond: rate };
        let admitted = 0;
        // Drain at t=0, then once per second drain what refilled.
        for (let s = 0; s <= seconds; s++) {
          while (store.consumeNow(ref, 1, limits).allowed) admitted++;
          clock.advance(1000);
        }
        expect(admitted).toBe(capacity + Math.min(rate, capacity) * seconds);
      }),
      { numRuns: 200 },
    );
  });

  it("answers how long until a cost fits", () => {
    const d = takeTokens(2, 5, { capacity: 10, refillPerSecond: 2 });
    expect(d.allowed).toBe(false);
    expect(d.result.retryAfterMs).toBe(1500);
    expect(retryAfterSeconds(d.result.retryAfterMs)).toBe(2);
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
  });
});

describe("RateLimit headers (IETF draft, structured fields)", () => {
  it("writes the contract's examples", () => {
    const standard = DEFAULT_TIER_LIMITS.standard;
    expect(rateLimitPolicyHeader(standard)).toBe('"tokens";q=600;w=60');
    expect(rateLimitHeader({ allowed: true, remaining: 587, retryAfterMs: 0, nextTokenMs: 100, resetMs: 1300 })).toBe('"tokens";r=587;t=1');
    expect(rateLimitHeader({ allowed: true, remaining: 600, retryAfterMs: 0, nextTokenMs: 0, resetMs: 0 })).toBe('"tokens";r=600;t=0');
    expect(rateLimitPolicyHeader(DEFAULT_TIER_LIMITS.free)).toBe('"tokens";q=60;w=60');
    expect(windowSeconds({ capacity: 5, refillPerSecond: 1000 })).toBe(1);
  });

  it("matches what a bucket reports after use: t is the next whole token, not the time to full", async () => {
    const clock = new FakeClock();
    const store = new MemoryBucketStore({ clock });
    const ref = { tenantId: "t", id: "k" };
    expect(rateLimitHeader(await store.consume(ref, 0, DEFAULT_TIER_LIMITS.standard))).toBe('"tokens";r=600;t=0');
    expect(rateLimitHeader(await store.consume(ref, 13, DEFAULT_TIER_LIMITS.standard))).toBe('"tokens";r=587;t=1');
    // An exhausted free bucket: the next token in a second, not the whole minute to full.
    const free = { tenantId: "t", id: "free" };
    await store.consume(free, 60, DEFAULT_TIER_LIMITS.free);
    const refused = await store.consume(free, 1, DEFAULT_TIER_LIMITS.free);
    expect(rateLimitHeader(refused)).toBe('"tokens";r=0;t=1');
    expect(retryAfterSeconds(refused.retryAfterMs)).toBe(1);
    // A slow bucket: t and Retry-After in whole seconds, rounded up, Retry-After for the whole cost.
    const slow = { capacity: 10, refillPerSecond: 0.4 };
    await store.consume(free, 10, slow);
    clock.advance(1000); // 0.4 tokens
    const five = await store.consume(free, 5, slow);
    expect(five.allowed).toBe(false);
    expect(rateLimitHeader(five)).toBe('"tokens";r=0;t=2'); // 0.6 tokens at 0.4/s: 1.5 s
    expect(retryAfterSeconds(five.retryAfterMs)).toBe(12); // 4.6 tokens: 11.5 s
  });

  it("keeps Retry-After of a refusal no earlier than t, and t at most one token away (fast-check)", () => {
    fc.assert(
      fc.property(limitsArb, fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 5_000 })), { maxLength: 40 }), (limits, steps) => {
        let tokens = limits.capacity;
        for (const [cost, elapsed] of steps) {
          tokens = refillTokens(tokens, elapsed, limits);
          const d = takeTokens(tokens, cost, limits);
          const t = Math.ceil(d.result.nextTokenMs / 1000);
          expect(d.result.nextTokenMs === 0).toBe(d.result.remaining >= limits.capacity);
          expect(d.result.nextTokenMs).toBeLessThanOrEqual(Math.ceil(1000 / limits.refillPerSecond));
          if (!d.allowed) expect(retryAfterSeconds(d.result.retryAfterMs)).toBeGreaterThanOrEqual(t);
          // After nextTokenMs one more whole token is there; after retryAfterMs the cost fits.
          const later = refillTokens(d.after, d.result.nextTokenMs, limits);
          if (d.result.nextTokenMs > 0) expect(Math.floor(later + 1e-9)).toBe(d.result.remaining + 1);
          if (!d.allowed && cost <= limits.capacity) expect(takeTokens(refillTokens(d.after, d.result.retryAfterMs, limits), cost, limits).allowed).toBe(true);
          tokens = d.after;
        }
      }),
    );
  });
});

describe("tiers", () => {
  it("has the contract's defaults", () => {
    expect(DEFAULT_TIER_LIMITS).toEqual({
      free: { capacity: 60, refillPerSecond: 1 },
      standard: { capacity: 600, refillPerSecond: 10 },
      pro: { capacity: 3000, refillPerSecond: 50 },
      enterprise: { capacity: 12000, refillPerSecond: 200 },
    });
  });

  it("checks overrides, naming the tier", () => {
    expect(tierLimits({ free: { capacity: 10, refillPerSecond: 0.5 } }).free.capacity).toBe(10);
    expect(() => tierLimits({ pro: { capacity: 1.5, refillPerSecond: 1 } })).toThrow(/tiers\.pro\.capacity/);
    expect(() => tierLimits({ pro: { capacity: 10, refillPerSecond: 0 } })).toThrow(/tiers\.pro\.refillPerSecond/);
    // A bucket larger than a store can count in millionths of a token within 64 bits is refused.
    expect(tierLimits({ pro: { capacity: 1e12, refillPerSecond: 1 } }).pro.capacity).toBe(1e12);
    expect(() => tierLimits({ pro: { capacity: 1e13, refillPerSecond: 1 } })).toThrow(/tiers\.pro\.capacity must be a positive integer up to 1000000000000/);
  });
});

describe("MemoryBucketStore", () => {
  it("drops full buckets once it holds many", () => {
    const clock = new FakeClock();
    const store = new MemoryBucketStore({ clock, sweepAbove: 10 });
    const limits = { capacity: 5, refillPerSecond: 100 };
    for (let i = 0; i < 10; i++) store.consumeNow({ tenantId: "t", id: `k${i}` }, 1, limits);
    clock.advance(1000);
    store.consumeNow({ tenantId: "t", id: "new" }, 1, limits);
    expect(store.size).toBe(1);
  });
});

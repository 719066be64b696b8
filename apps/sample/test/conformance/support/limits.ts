/**
 * Rate limits on the wire (contract section 4, issue 9): `t` is the time until the next whole
 * token and a 429's `Retry-After` is never earlier than it; the tenant-wide bucket is shared by
 * all of a tenant's keys and by no other tenant, and rides in the headers as `"tenant"`. Runs
 * its own app (with a tenant bucket for pro keys) beside the suite's. Called by
 * `contractSuite`, so it runs on every framework and store variant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Framework } from "../../../src/server";
import { startApp, type App, type StoreVariant } from "./app";
import { expectProblem, show, tokenHeaders } from "./expect";
import { sfMember, type WireResponse } from "./http";
import { createFixture } from "./seed";

const ME = "/api/v2/me";
/** Pro keys share a bucket of 12 tokens per tenant, refilling one token every 100 s. */
const TENANT_BUCKET = { capacity: 12, refillPerSecond: 0.01 };

/** The `"tenant"` member of the RateLimit headers, parsed. */
function tenantHeaders(res: WireResponse): { q: number; w: number; r: number; t: number } {
  const policy = sfMember(res.headers["ratelimit-policy"], "tenant");
  const limit = sfMember(res.headers["ratelimit"], "tenant");
  expect(policy, `RateLimit-Policy ${show(res)}`).toBeDefined();
  expect(limit, `RateLimit ${show(res)}`).toBeDefined();
  for (const v of [policy!.q, policy!.w, limit!.r, limit!.t]) expect(v, show(res)).toMatch(/^\d+$/);
  return { q: Number(policy!.q), w: Number(policy!.w), r: Number(limit!.r), t: Number(limit!.t) };
}

/** The names of the policies in a RateLimit header, in order. */
const policies = (value: string | undefined): string[] => (value ?? "").split(",").map((m) => m.trim().split(";")[0]!);

export function limitsSuite(framework: Framework, variant: StoreVariant): void {
  describe("rate limits: t, Retry-After and the tenant-wide bucket (section 4)", () => {
    const fx = createFixture();
    const K = fx.keys;
    let app: App;
    beforeAll(async () => {
      app = await startApp(framework, variant, fx, { tenantBucket: { pro: TENANT_BUCKET } });
    });
    afterAll(async () => {
      await app?.close();
    });

    it("answers an exhausted bucket with t for the next whole token and a Retry-After never earlier than t", async () => {
      let limited: WireResponse | undefined;
      for (let i = 0; i < 400 && !limited; i++) {
        const res = await app.client.get(ME, K.freeExhaust);
        if (res.status === 200) {
          const t = tokenHeaders(res);
          // 1 token a second: the next one is at most a second away; t is 0 only when full.
          expect(t.t, show(res)).toBe(t.r === t.q ? 0 : 1);
        } else limited = res;
      }
      expect(limited, "the free bucket ran out").toBeDefined();
      const res = limited!;
      expectProblem(res, "rate_limited", { cost: 1, remaining: 0, limit: 60 }, true);
      const t = tokenHeaders(res);
      expect([t.q, t.w, t.r, t.t]).toEqual([60, 60, 0, 1]);
      expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(t.t);
      expect(res.headers["retry-after"]).toBe("1");
      expect(policies(res.headers["ratelimit-policy"])).toEqual(['"tokens"', '"credits"']); // free keys have no tenant bucket here
    });

    it("shares the tenant bucket between two keys of one tenant, not with another tenant, and says so in \"tenant\"", async () => {
      const first = await app.client.get(ME, K.vault);
      expect(first.status, show(first)).toBe(200);
      expect(policies(first.headers["ratelimit-policy"])).toEqual(['"tokens"', '"tenant"', '"credits"']);
      expect(policies(first.headers.ratelimit)).toEqual(['"tokens"', '"tenant"', '"credits"']);
      const shared = tenantHeaders(first);
      expect([shared.q, shared.w, shared.r, shared.t]).toEqual([12, 1200, 11, 100]);
      for (let i = 0; i < 6; i++) expect((await app.client.get(ME, K.vault)).status).toBe(200);
      let last: WireResponse | undefined;
      for (let i = 0; i < 5; i++) {
        last = await app.client.get(ME, K.idem);
        expect(last.status, show(last)).toBe(200);
      }
      expect(tenantHeaders(last!).r).toBe(0); // 7 + 5 calls of two keys took the 12 tokens
      const own = tokenHeaders(last!).r; // the key's own bucket (3,000 at 50/s) is far from empty
      expect(own).toBeGreaterThan(2900);

      const refused = await app.client.get(ME, K.idem);
      expectProblem(refused, "rate_limited", { cost: 1, remaining: 0, limit: 12 }, true);
      const t = tenantHeaders(refused);
      expect(t.r).toBe(0);
      expect(t.t).toBeGreaterThan(1);
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(t.t);
      expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(100);
      expect(tokenHeaders(refused).r).toBeGreaterThanOrEqual(own); // a refused request takes nothing from the key's bucket
      expectProblem(await app.client.get(ME, K.vault), "rate_limited", { limit: 12 });

      // Another tenant's pro key has a tenant bucket of its own, untouched.
      const other = await app.client.get(ME, K.other);
      expect(other.status, show(other)).toBe(200);
      expect(tenantHeaders(other).r).toBe(11);
    });

    it("carries the tenant bucket on refusals made before the bucket too (403), without taking from it", async () => {
      const before = tenantHeaders(await app.client.get(ME, K.other)).r;
      const res = await app.client.get("/api/v2/keys", K.other); // it holds no keys:read
      expectProblem(res, "insufficient_scope");
      expect(tenantHeaders(res).r).toBe(before);
      expect(tenantHeaders(await app.client.get(ME, K.other)).r).toBe(before - 1);
    });
  });
}

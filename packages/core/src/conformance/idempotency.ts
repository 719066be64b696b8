import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eachTest } from "./harness";
import type { IdempotencyRef, IdempotencyStore, StoredResponse } from "../idempotency";

/** What an idempotency store implementation gives the suite. */
export interface IdempotencyStoreHarness {
  readonly store: IdempotencyStore;
  /** Lets `ms` of the store's clock pass. */
  advance(ms: number): Promise<void>;
  cleanup?(): Promise<void>;
}

const LONG = { leaseMs: 60_000 };
const DAY = { ttlMs: 86_400_000 };
const RESPONSE: StoredResponse = {
  status: 201,
  headers: { "content-type": "application/json", location: "/api/v2/vault/projects/1" },
  body: '{"id":"1","name":"Downtown Tower","note":"ünïcødé ✓"}',
};

/** The `IdempotencyStore` contract; `setup` runs before each test. */
export function idempotencyStoreConformance(name: string, setup: () => Promise<IdempotencyStoreHarness> | IdempotencyStoreHarness): void {
  describe(`IdempotencyStore conformance: ${name}`, () => {
    let h: IdempotencyStoreHarness, ref: IdempotencyRef;
    eachTest(setup, (harness, tenantId) => {
      h = harness;
      ref = { tenantId, scope: `${randomUUID()}:live`, key: `key-${randomUUID()}` };
    });

    it("claims an unused key and shows it in flight", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      expect(c.outcome).toBe("claimed");
      const r = await h.store.read(ref);
      expect(r?.state).toBe("in_flight");
      expect(r?.fingerprint).toBe("fp1");
    });

    it("answers in_flight to the same request and mismatch to another", async () => {
      await h.store.claim(ref, "fp1", LONG);
      expect((await h.store.claim(ref, "fp1", LONG)).outcome).toBe("in_flight");
      expect((await h.store.claim(ref, "fp2", LONG)).outcome).toBe("mismatch");
    });

    it("replays the completed response byte for byte", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      if (c.outcome !== "claimed") throw new Error("expected a claim");
      expect(await h.store.complete(ref, c.token, RESPONSE, DAY)).toBe(true);
      const again = await h.store.claim(ref, "fp1", LONG);
      expect(again).toEqual({ outcome: "completed", response: RESPONSE });
      expect((await h.store.claim(ref, "fp2", LONG)).outcome).toBe("mismatch");
      const r = await h.store.read(ref);
      expect(r?.state).toBe("completed");
    });

    it("lets only the current holder complete", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      if (c.outcome !== "claimed") throw new Error("expected a claim");
      expect(await h.store.complete(ref, c.token + "x", RESPONSE, DAY)).toBe(false);
      expect((await h.store.read(ref))?.state).toBe("in_flight");
    });

    it("never overwrites a completed record", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      if (c.outcome !== "claimed") throw new Error("expected a claim");
      await h.store.complete(ref, c.token, RESPONSE, DAY);
      expect(await h.store.complete(ref, c.token, { ...RESPONSE, status: 500 }, DAY)).toBe(false);
      expect(await h.store.release(ref, c.token)).toBe(false);
      const r = await h.store.read(ref);
      expect(r?.state === "completed" && r.response.status).toBe(201);
    });

    it("releases a key for a retry, holder only", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      if (c.outcome !== "claimed") throw new Error("expected a claim");
      expect(await h.store.release(ref, "not-the-token")).toBe(false);
      expect(await h.store.release(ref, c.token)).toBe(true);
      expect(await h.store.read(ref)).toBeNull();
      const again = await h.store.claim(ref, "fp2", LONG);
      expect(again.outcome).toBe("claimed");
      if (again.outcome === "claimed") expect(again.token).not.toBe(c.token);
    });

    it("frees a key whose lease expired and fences out the old holder", async () => {
      const first = await h.store.claim(ref, "fp1", { leaseMs: 100 });
      if (first.outcome !== "claimed") throw new Error("expected a claim");
      await h.advance(400);
      const second = await h.store.claim(ref, "fp1", LONG);
      if (second.outcome !== "claimed") throw new Error(`expected a new claim, got ${second.outcome}`);
      expect(second.token).not.toBe(first.token);
      expect(await h.store.complete(ref, first.token, RESPONSE, DAY)).toBe(false);
      expect(await h.store.release(ref, first.token)).toBe(false);
      expect(await h.store.complete(ref, second.token, RESPONSE, DAY)).toBe(true);
    });

    it("expires a completed record after its TTL, on read and on claim", async () => {
      const c = await h.store.claim(ref, "fp1", LONG);
      if (c.outcome !== "claimed") throw new Error("expected a claim");
      await h.store.complete(ref, c.token, RESPONSE, { ttlMs: 200 });
      await h.advance(600);
      expect(await h.store.read(ref)).toBeNull();
      expect((await h.store.claim(ref, "fp2", LONG)).outcome).toBe("claimed");
    });

    it("keeps tenants and principals apart", async () => {
      const otherTenant = { ...ref, tenantId: randomUUID() };
      const otherUser = { ...ref, scope: `${randomUUID()}:live` };
      const otherEnv = { ...ref, scope: ref.scope.replace(/:live$/, ":test") };
      expect((await h.store.claim(ref, "fp1", LONG)).outcome).toBe("claimed");
      expect((await h.store.claim(otherTenant, "fp1", LONG)).outcome).toBe("claimed");
      expect((await h.store.claim(otherUser, "fp1", LONG)).outcome).toBe("claimed");
      expect((await h.store.claim(otherEnv, "fp1", LONG)).outcome).toBe("claimed");
    });

    it("gives one claim to many concurrent requests", async () => {
      const results = await Promise.all(Array.from({ length: 25 }, () => h.store.claim(ref, "fp1", LONG)));
      expect(results.filter((r) => r.outcome === "claimed")).toHaveLength(1);
      expect(results.filter((r) => r.outcome === "in_flight")).toHaveLength(24);
    });

    it("accepts any visible-ASCII key up to 255 characters", async () => {
      const odd = { ...ref, key: ('{tag}:"\\*?[]' + "~".repeat(255)).slice(0, 255) };
      expect((await h.store.claim(odd, "fp1", LONG)).outcome).toBe("claimed");
      expect((await h.store.claim({ ...odd, key: odd.key.slice(0, 254) }, "fp1", LONG)).outcome).toBe("claimed");
      expect((await h.store.claim(odd, "fp1", LONG)).outcome).toBe("in_flight");
    });
  });
}

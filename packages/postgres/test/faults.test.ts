import { randomUUID } from "node:crypto";
import { createKeyHasher, createPolicy, createVerifiedKeyCache, defineCapability, type Decision, type Policy } from "@alloovium/core";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectPostgresStores, type ConnectedPostgresStores } from "../src/index";
import { ThrowawayServer, waitFor } from "./pg-server";

// Faults against a PostgreSQL server of this file's own (initdb + pg_ctl, its own port), stopped
// and started again mid-run. This process, its pool and its stores are never restarted.
let server: ThrowawayServer;
let pool: pg.Pool;
let connected: ConnectedPostgresStores;
const errors: string[] = [];
const schema = "alloovium_faults";

beforeAll(async () => {
  server = await ThrowawayServer.start();
  pool = new pg.Pool({ connectionString: server.url, max: 4, connectionTimeoutMillis: 2000 });
  pool.on("error", () => {}); // idle clients cut by the stop: the next query takes a new one
  connected = await connectPostgresStores({
    pool,
    schema,
    listener: () => new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2000 }),
    reconnectDelayMs: 100,
    queryTimeoutMs: 2000,
    failure: { localShareOf: 2 },
    onError: (_e, op) => errors.push(op),
  });
}, 120_000);
afterAll(async () => {
  await connected?.close();
  await pool?.end().catch(() => {});
  server?.destroy();
});

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, credits: 1, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, credits: 2, idempotent: true });
const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });

/** A policy whose key cache never holds a key (every request asks PostgreSQL) or holds it for a minute. */
function policyOn(keyCacheTtlMs: number): Policy {
  const { stores } = connected;
  const keyCache = createVerifiedKeyCache({ store: stores.keys, hasher: keyHasher, ttlMs: keyCacheTtlMs, negativeTtlMs: keyCacheTtlMs });
  return createPolicy({ environment: "live", keyHasher, keyCache, stores, onStoreError: (_e, op) => errors.push(`policy:${op}`) });
}
const me = (policy: Policy, key: string) => policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami);
function expectUnavailable(d: Decision, code: string): void {
  if (d.kind !== "reject") throw new Error(`expected a rejection, got ${d.kind}`);
  expect([d.response.status, d.problem.code, d.response.headers["retry-after"]]).toEqual([503, code, "1"]);
  expect(d.response.headers["content-type"]).toBe("application/problem+json");
}

describe("PostgreSQL stopped and started again mid-run", () => {
  it("keeps cached keys working (uncharged, on the local bucket share), answers uncached ones 503, and recovers without a restart", async () => {
    const uncached = policyOn(0);
    const cached = policyOn(60_000);
    await connected.watch(cached.keyCache);
    const { key, record } = await mintApiKey(connected.stores.keys, keyHasher, { environment: "live", tenantId: randomUUID() });
    const first = await me(uncached, key);
    expect(first.kind).toBe("continue");
    await waitFor("the key cached", async () => (await me(cached, key)).kind === "continue" && (await me(cached, key)).kind === "continue");
    const balance = await connected.stores.credits.balance(record.tenant_id, 100_000);

    server.stop();
    try {
      expectUnavailable(await me(uncached, key), "service_unavailable"); // the key store
      const during = await me(cached, key); // the key from the cache, the bucket from the local share
      expect(during.kind).toBe("continue");
      if (during.kind === "continue") expect(during.headers["ratelimit"]).not.toContain("credits"); // not charged
      // A request with an Idempotency-Key cannot be claimed: 503 idempotency_unavailable.
      const post = await cached.decide(policyRequest({ method: "POST", path: create.path, key, idempotencyKey: "k1", body: {} }), create);
      expectUnavailable(post, "idempotency_unavailable");
      expect(errors).toContain("policy:lookup");
      expect(errors).toContain("admit");
    } finally {
      await server.resume();
    }
    // The same pool, stores and feed: no restart of this process.
    await waitFor("the key store back", async () => (await me(uncached, key)).kind === "continue", 30_000, 100);
    expect(await connected.stores.credits.balance(record.tenant_id, 100_000)).toBe(balance - 1); // charged again once back
    // The feed listens again: a revocation reaches the one-minute cache.
    await waitFor("the feed back", async () => {
      await connected.stores.keys.patch(record.tenant_id, record.id, { revokedAt: "2026-11-23T09:00:00.000Z" });
      const d = await me(cached, key);
      return d.kind === "reject" && d.problem.code === "api_key_revoked" ? d : undefined;
    }, 30_000, 200);
    expect(errors).toContain("connection");
  });
});

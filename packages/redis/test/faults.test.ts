import { randomUUID } from "node:crypto";
import {
  createKeyHasher,
  createPolicy,
  createVerifiedKeyCache,
  defineCapability,
  MemoryKeyStore,
  type Decision,
  type Policy,
} from "@alloovium/core";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createRedisStores, type RedisStores } from "../src/index";
import { countKeys, RedisServer, waitFor } from "./redis-server";

// Faults against a redis-server of this file's own: paused, asleep, killed and restarted.
// The client keeps ioredis' defaults (offline queue, resending unfulfilled commands): the
// stores must bound latency and avoid late writes by themselves.
let server: RedisServer;
let client: Redis;
let admin: Redis;
const keyPrefix = "alloovium-faults";
const RESPONSE = { status: 201, headers: { "content-type": "application/json" }, body: '{"id":"1"}' };
const SLOW = 0.0001;

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server?.destroy();
});

let stores: RedisStores;
let errors: string[];
beforeEach(async () => {
  client = new Redis(server.url);
  client.on("error", () => {});
  admin = new Redis(server.url);
  admin.on("error", () => {});
  await Promise.all([client.ping(), admin.ping()]);
  errors = [];
  stores = createRedisStores({
    client,
    keyPrefix,
    // Long enough that a loaded machine does not time out a healthy command; short next to the faults.
    commandTimeoutMs: 500,
    buckets: { localShareOf: 2 },
    onError: (_e, op) => errors.push(op),
  });
});
afterEach(async () => {
  client.disconnect();
  admin.disconnect();
});

function refs() {
  const tenantId = randomUUID();
  return {
    bucket: { tenantId, id: `key:${randomUUID()}` },
    idem: (key: string) => ({ tenantId, scope: "user-1:live", key }),
  };
}

// A WRITE pause blocks every script (they may write) but lets reads and CLIENT UNPAUSE through;
// an ALL pause would block the UNPAUSE too.
describe("a paused Redis (CLIENT PAUSE WRITE)", () => {
  it("fails claims closed without writing them, falls open onto the local share, and replays completed records afterwards", async () => {
    const { bucket, idem } = refs();
    const limits = { capacity: 10, refillPerSecond: SLOW };
    const done = idem("done");
    const fresh = idem("fresh");
    const first = await stores.admission.admit({ bucket, cost: 2, limits, claim: { ref: done, fingerprint: "fp", leaseMs: 60_000 } });
    if (first.claim?.outcome !== "claimed") throw new Error("expected a claim");
    expect(await stores.idempotency.complete(done, first.claim.token, RESPONSE, { ttlMs: 86_400_000 })).toBe(true);

    await admin.client("PAUSE", 60_000, "WRITE");
    try {
      // The bucket answers from this process's half: capacity 5, one token per request.
      const replay = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: done, fingerprint: "fp", leaseMs: 60_000 } });
      expect(replay.bucket).toMatchObject({ allowed: true, remaining: 4 });
      expect(replay.claim?.outcome).toBe("unavailable");
      const claim = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: fresh, fingerprint: "fp", leaseMs: 60_000 } });
      expect(claim.bucket.remaining).toBe(3);
      expect(claim.claim?.outcome).toBe("unavailable");
      await expect(stores.idempotency.claim(idem("direct"), "fp", { leaseMs: 60_000 })).rejects.toThrow(/500 ms|deadline/);
      expect((await stores.buckets.consume(bucket, 3, limits)).remaining).toBe(0);
      expect((await stores.buckets.consume(bucket, 1, limits)).allowed).toBe(false);
      // The connection is now blocked behind the paused scripts: reads time out too.
      await expect(stores.keys.findByDigest("p1:nothing")).rejects.toThrow(/500 ms/);
    } finally {
      await admin.client("UNPAUSE");
    }

    // The queued scripts ran after the pause, past their deadline: they wrote nothing.
    await waitFor("Redis back", async () => (await stores.idempotency.read(done))?.state === "completed");
    expect(await stores.idempotency.read(fresh)).toBeNull();
    expect(await stores.idempotency.read(idem("direct"))).toBeNull();
    // Only the 2 tokens taken before the pause are gone from the shared bucket.
    expect((await stores.buckets.consume(bucket, 0, limits)).remaining).toBe(8);
    const after = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: done, fingerprint: "fp", leaseMs: 60_000 } });
    expect(after.claim).toEqual({ outcome: "completed", response: RESPONSE });
    const retried = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: fresh, fingerprint: "fp", leaseMs: 60_000 } });
    expect(retried.claim?.outcome).toBe("claimed");
    expect(retried.bucket.remaining).toBe(6);
    expect(errors).toContain("claim");
    expect(errors).toContain("bucket");
  });

  it("stores a completion sent during the pause once the pause ends (nothing lost)", async () => {
    const { idem } = refs();
    const ref = idem("complete-late");
    const c = await stores.idempotency.claim(ref, "fp", { leaseMs: 60_000 });
    if (c.outcome !== "claimed") throw new Error("expected a claim");
    await admin.client("PAUSE", 60_000, "WRITE");
    try {
      await expect(stores.idempotency.complete(ref, c.token, RESPONSE, { ttlMs: 60_000 })).rejects.toThrow(/500 ms/);
    } finally {
      await admin.client("UNPAUSE");
    }
    const r = await waitFor("the late completion", async () => {
      const rec = await stores.idempotency.read(ref);
      return rec?.state === "completed" ? rec : undefined;
    });
    expect(r.response).toEqual(RESPONSE);
    // Completing twice is refused: the record is written once.
    expect(await stores.idempotency.complete(ref, c.token, { ...RESPONSE, status: 500 }, { ttlMs: 60_000 })).toBe(false);
  });
});

describe("metering on a paused Redis", () => {
  it("lets a call through uncharged when credits fail open, answers 503 with Retry-After when closed, and charges nothing late", async () => {
    const tenantId = randomUUID();
    // Keys in memory: only the admission meets the pause.
    const keyStore = new MemoryKeyStore();
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const { key } = await mintApiKey(keyStore, keyHasher, { tenantId });
    const capability = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: true, credits: 3 });
    const closedStores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 500, credits: { failure: "closed" }, onError: (_e, op) => errors.push(op) });
    const policyOf = (s: RedisStores): Policy =>
      createPolicy({ environment: "test", keyHasher, creditGrant: 10, stores: { keys: keyStore, buckets: s.buckets, idempotency: s.idempotency, admission: s.admission } });
    const open = policyOf(stores);
    const closed = policyOf(closedStores);
    const post = (policy: Policy) => policy.decide(policyRequest({ method: "POST", path: capability.path, key, body: "{}" }), capability);

    const healthy = await post(open);
    if (healthy.kind !== "continue") throw new Error("expected continue");
    expect(healthy.headers.ratelimit).toContain('"credits";r=7');

    await admin.client("PAUSE", 60_000, "WRITE");
    try {
      const through = await post(open);
      if (through.kind !== "continue") throw new Error(`expected continue, got ${through.kind}`);
      expect(through.headers.ratelimit).not.toContain("credits");
      expect(through.owes).toBe("nothing"); // nothing charged, so nothing to refund
      expect(errors).toContain("charge");
      const refused = await post(closed);
      if (refused.kind !== "reject") throw new Error(`expected reject, got ${refused.kind}`);
      expect(refused.response.status).toBe(503);
      expect(refused.problem.code).toBe("service_unavailable");
      expect(refused.response.headers["retry-after"]).toBe("1");
    } finally {
      await admin.client("UNPAUSE");
    }
    // The two scripts queued behind the pause ran after their deadline: they charged nothing.
    await waitFor("Redis back", async () => (await stores.credits.balance(tenantId, 10)) === 7);
    expect((await stores.credits.usage(tenantId, 0)).map((r) => r.calls)).toEqual([1]);
    const after = await post(open);
    if (after.kind !== "continue") throw new Error("expected continue");
    expect(after.headers.ratelimit).toContain('"credits";r=4');
  });
});

describe("a policy on Redis stores during an outage (503, never 500)", () => {
  const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
  const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });

  /** A policy whose key cache never holds a key (every request asks the key store) or holds it for a minute. */
  function policyOn(s: RedisStores, keyCacheTtlMs: number): Policy {
    const keyCache = createVerifiedKeyCache({ store: s.keys, hasher: keyHasher, ttlMs: keyCacheTtlMs, negativeTtlMs: keyCacheTtlMs });
    return createPolicy({
      environment: "live", keyHasher, keyCache, stores: s,
      onStoreError: (_e, op) => errors.push(`policy:${op}`),
    });
  }
  const me = (policy: Policy, key: string) => policy.decide(policyRequest({ path: "/api/v2/me", key }), whoami);
  function expectUnavailable(d: Decision): void {
    if (d.kind !== "reject") throw new Error(`expected a rejection, got ${d.kind}`);
    expect([d.response.status, d.problem.code, d.response.headers["retry-after"]]).toEqual([503, "service_unavailable", "1"]);
    expect(d.response.headers["content-type"]).toBe("application/problem+json");
  }

  it("answers a key lookup and a closed bucket on a stopped server with 503 + Retry-After, and recovers without a restart", async () => {
    const closed = createRedisStores({ client, keyPrefix, commandTimeoutMs: 500, buckets: { failure: "closed" }, onError: (_e, op) => errors.push(op) });
    const uncached = policyOn(closed, 0);
    const cached = policyOn(closed, 60_000);
    const { key, record } = await mintApiKey(closed.keys, keyHasher, { environment: "live" });
    expect((await me(uncached, key)).kind).toBe("continue");
    expect((await me(cached, key)).kind).toBe("continue"); // now in the cache
    await server.stop();
    try {
      expectUnavailable(await me(uncached, key)); // the key store
      expectUnavailable(await me(cached, key)); // the bucket, failing closed
    } finally {
      await server.restart();
    }
    // The same client and stores, no restart of this process. The server came back empty (no
    // persistence): the key is unknown until its record is written again (packages/redis/README.md).
    const again = await waitFor("the key store back", async () => {
      const d = await me(uncached, key);
      return d.kind === "reject" && d.problem.code === "invalid_api_key" ? d : undefined;
    });
    expect(again.response.status).toBe(401);
    expect((await me(cached, key)).kind).toBe("continue");
    await closed.keys.put(record);
    expect((await me(uncached, key)).kind).toBe("continue");
  });

  it("answers every request with 503 while the server is paused, before the pause ends, and serves again after it", async () => {
    const closed = createRedisStores({ client, keyPrefix, commandTimeoutMs: 500, buckets: { failure: "closed" }, onError: (_e, op) => errors.push(op) });
    const uncached = policyOn(closed, 0);
    const { key } = await mintApiKey(closed.keys, keyHasher, { environment: "live" });
    expect((await me(uncached, key)).kind).toBe("continue");
    const probe = new Redis(server.url);
    probe.on("error", () => {});
    await probe.ping();
    await admin.client("PAUSE", 5000, "ALL");
    let paused = true;
    // Answered only when the pause ends: the decisions below ran while it held.
    const ended = probe.ping().finally(() => {
      paused = false;
    });
    try {
      const during: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        expectUnavailable(await me(uncached, key));
        during.push(paused);
      }
      expect(during).toEqual([true, true, true]);
      expect(errors).toContain("policy:lookup");
    } finally {
      await ended;
      probe.disconnect();
    }
    await waitFor("service again", async () => (await me(uncached, key)).kind === "continue");
  });
});

describe("a hung Redis (DEBUG SLEEP)", () => {
  it("answers every decision from the fallbacks while the server is still asleep", async () => {
    const { bucket, idem } = refs();
    const limits = { capacity: 10, refillPerSecond: SLOW };
    let asleep = true;
    const sleeping = admin.debug("SLEEP", 6).finally(() => {
      asleep = false;
    });
    await waitFor("the server to hang", async () => {
      await stores.buckets.consume({ tenantId: "probe", id: randomUUID() }, 0, limits);
      return errors.includes("bucket");
    });
    const decided: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: idem(`hung-${i}`), fingerprint: "fp", leaseMs: 60_000 } });
      expect(a.bucket.allowed).toBe(true);
      expect(a.claim?.outcome).toBe("unavailable");
      decided.push(asleep);
    }
    expect(decided).toEqual([true, true, true]);
    await sleeping;
    await waitFor("Redis awake", async () => (await stores.idempotency.read(idem("hung-0"))) === null);
    expect((await stores.buckets.consume(bucket, 0, limits)).remaining).toBe(10);
  });
});

describe("a Redis that stops and comes back", () => {
  it("fails closed/open while down and recovers without a restart, with no late writes", async () => {
    const { bucket, idem } = refs();
    const limits = { capacity: 10, refillPerSecond: SLOW };
    expect((await stores.buckets.consume(bucket, 1, limits)).remaining).toBe(9);
    await server.stop();
    try {
      const down = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: idem("down"), fingerprint: "fp", leaseMs: 60_000 } });
      expect(down.bucket).toMatchObject({ allowed: true, remaining: 4 });
      expect(down.claim?.outcome).toBe("unavailable");
      await expect(stores.idempotency.claim(idem("down-2"), "fp", { leaseMs: 60_000 })).rejects.toThrow();
      await expect(stores.keys.get(bucket.tenantId, "k")).rejects.toThrow();
    } finally {
      await server.restart();
    }
    // The same stores and client, no restart of this process.
    const back = await waitFor("recovery", async () => {
      const a = await stores.admission.admit({ bucket, cost: 1, limits, claim: { ref: idem("up"), fingerprint: "fp", leaseMs: 60_000 } });
      return a.claim?.outcome === "claimed" ? a : undefined;
    });
    // The server came back empty; the bucket holds exactly the one request made since.
    expect(back.bucket.remaining).toBe(9);
    expect(await stores.idempotency.read(idem("down"))).toBeNull();
    expect(await stores.idempotency.read(idem("down-2"))).toBeNull();
    // One bucket, one record, one token counter: nothing written by commands queued while down.
    expect(await countKeys(admin, keyPrefix)).toBe(3);
  });
});

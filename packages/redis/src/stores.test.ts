import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, RedisServer } from "../test/redis-server";
import { RoundTripCounter } from "../test/round-trips";
import { createKeyHasher, createPolicy, createVerifiedKeyCache, defineCapability } from "@alloovium/core";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { createRedisStores, RedisAdmission, RedisBucketStore, RedisIdempotencyStore, RedisStoreUnavailableError } from "./index";
import { KeyLayout } from "./keys";

// A server of this file's own, so that INFO commandstats counts only our round trips.
let server: RedisServer;
let client: Redis;
const keyPrefix = "alloovium-unit";
const SLOW = 0.0001;

beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis(server.url);
  client.on("error", () => {});
});
afterAll(async () => {
  client?.disconnect();
  await server?.destroy();
});

describe("createRedisStores options", () => {
  it.each([
    [{}, /`client`/],
    [{ client: {} }, /`client`/],
    [{ keyPrefix: "a{b}" }, /`keyPrefix`/],
    [{ keyPrefix: "" }, /`keyPrefix`/],
    [{ commandTimeoutMs: 0 }, /`commandTimeoutMs`/],
    [{ commandTimeoutMs: Number.NaN }, /`commandTimeoutMs`/],
    [{ buckets: { failure: "sometimes" } }, /`buckets.failure`/],
    [{ buckets: { localShareOf: 0.5 } }, /`buckets.localShareOf`/],
    [{ idempotency: { failure: "ajar" } }, /`idempotency.failure`/],
    [{ credits: { failure: "half" } }, /`credits.failure`/],
    [{ credits: { usageRetentionMs: 0 } }, /`credits.usageRetentionMs`/],
    [{ onError: "log" }, /`onError`/],
  ])("rejects %o naming the option", (bad, message) => {
    const options = { client, ...bad } as Parameters<typeof createRedisStores>[0];
    if (!("client" in bad) && Object.keys(bad).length === 0) (options as { client?: unknown }).client = undefined;
    expect(() => createRedisStores(options)).toThrow(TypeError);
    expect(() => createRedisStores(options)).toThrow(message);
  });

  it("checks the classes' own options too", () => {
    expect(() => new RedisBucketStore({ client, localShareOf: 0 })).toThrow(/`localShareOf`/);
    expect(() => new RedisIdempotencyStore({ client, failure: "x" as "open" })).toThrow(/`failure`/);
    const b = new RedisBucketStore({ client, keyPrefix: "one" });
    const i = new RedisIdempotencyStore({ client, keyPrefix: "two" });
    expect(() => new RedisAdmission(b, i)).toThrow(/share one client and keyPrefix/);
  });
});

describe("key layout", () => {
  it("hash-tags every key with the tenant", () => {
    const k = new KeyLayout("p");
    expect(k.bucket("t1", "key:abc")).toBe("p:{t1}:b:key:abc");
    expect(k.idempotency("t1", "u:live", "k")).toMatch(/^p:\{t1\}:i:[A-Za-z0-9_-]{43}$/);
    expect(k.sequence("t1")).toBe("p:{t1}:seq");
    expect(k.keyRecords("t1")).toBe("p:{t1}:keys");
    expect(k.keysUsed("t1")).toBe("p:{t1}:keys:used");
    expect(k.credits("t1")).toBe("p:{t1}:cr");
    expect(k.usage("t1", 1_767_225_600_000)).toBe("p:{t1}:u:1767225600000");
    expect(k.usage("t1", 0).startsWith(k.usagePrefix("t1"))).toBe(true);
    expect(k.channel).toBe("p:key-invalidations");
  });

  it("escapes braces so the tag is always the whole tenant id", () => {
    const k = new KeyLayout("p");
    expect(k.bucket("a}b{c", "x")).toBe("p:{a%7db%7bc}:b:x");
    expect(k.bucket("", "x")).toBe("p:{%}:b:x");
    expect(k.bucket("%7d", "x")).toBe("p:{%257d}:b:x");
  });
});

describe("RedisBucketStore on the server", () => {
  const stores = () => createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000, buckets: { failure: "closed" } });

  it("keeps fractional tokens and the server time in one string that expires when the bucket is full", async () => {
    const ref = { tenantId: randomUUID(), id: "key:a" };
    const key = new KeyLayout(keyPrefix).bucket(ref.tenantId, ref.id);
    const r = await stores().buckets.consume(ref, 2, { capacity: 10, refillPerSecond: 1 });
    expect(r).toMatchObject({ allowed: true, remaining: 8, retryAfterMs: 0 });
    const [tokens, at, micros] = ((await client.get(key)) ?? "").split(" ");
    expect(Number(tokens)).toBe(8);
    expect(micros).toMatch(/^\d{1,6}$/);
    const [sec] = await client.time();
    expect(Math.abs(Number(at) - Number(sec))).toBeLessThan(60);
    const pttl = await client.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(2001);
  });

  it("writes nothing for a cost-0 read, a rejected request or a full bucket", async () => {
    const ref = { tenantId: randomUUID(), id: "key:b" };
    const key = new KeyLayout(keyPrefix).bucket(ref.tenantId, ref.id);
    const limits = { capacity: 5, refillPerSecond: SLOW };
    expect((await stores().buckets.consume(ref, 0, limits)).remaining).toBe(5);
    expect(await client.exists(key)).toBe(0);
    await stores().buckets.consume(ref, 4, limits);
    const before = await client.get(key);
    expect((await stores().buckets.consume(ref, 2, limits)).allowed).toBe(false);
    expect((await stores().buckets.consume(ref, 0, limits)).remaining).toBe(1);
    expect(before).not.toBeNull();
    expect(await client.get(key)).toBe(before);
  });

  it("applies a tier change on the next call", async () => {
    const ref = { tenantId: randomUUID(), id: "key:c" };
    await stores().buckets.consume(ref, 5, { capacity: 10, refillPerSecond: SLOW });
    expect((await stores().buckets.consume(ref, 0, { capacity: 3, refillPerSecond: SLOW })).remaining).toBe(3);
    expect((await stores().buckets.consume(ref, 0, { capacity: 100, refillPerSecond: SLOW })).remaining).toBe(5);
  });
});

describe("round trips, counted by the server (MONITOR)", () => {
  let counter: RoundTripCounter;
  beforeAll(async () => {
    counter = await RoundTripCounter.start(client);
  });
  afterAll(() => counter.stop());
  const callsSince = (_: null, run: () => Promise<unknown>) => counter.count(client, run);

  it("makes one round trip per bucket decision, and one per admission with a claim", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const tenantId = randomUUID();
    const limits = { capacity: 100, refillPerSecond: 1 };
    // Warm-up: the first use of each script on a server is EVALSHA + EVAL (NOSCRIPT), and the
    // first decision reads TIME once to learn the server clock's offset.
    await s.buckets.consume({ tenantId, id: "key:warm" }, 1, limits);
    await s.idempotency.complete({ tenantId, scope: "u:live", key: "none" }, "none", { status: 200, headers: {}, body: "" }, { ttlMs: 1000 });
    await s.admission.admit({ bucket: { tenantId, id: "key:warm" }, cost: 1, limits, claim: { ref: { tenantId, scope: "u:live", key: "warm" }, fingerprint: "f", leaseMs: 1000 } });
    expect(await callsSince(null, () => s.buckets.consume({ tenantId, id: "key:x" }, 1, limits))).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.admission.admit({ bucket: { tenantId, id: "key:x" }, cost: 1, limits }))).toEqual({ evalsha: 1 });
    const ref = { tenantId, scope: "u:live", key: randomUUID() };
    let token = "";
    expect(
      await callsSince(null, async () => {
        const a = await s.admission.admit({ bucket: { tenantId, id: "key:x" }, cost: 1, limits, claim: { ref, fingerprint: "f", leaseMs: 60_000 } });
        if (a.claim?.outcome === "claimed") token = a.claim.token;
      }),
    ).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.idempotency.complete(ref, token, { status: 200, headers: {}, body: "ok" }, { ttlMs: 60_000 }))).toEqual({ evalsha: 1 });
    expect(
      await callsSince(null, () => s.admission.admit({ bucket: { tenantId, id: "key:x" }, cost: 1, limits, claim: { ref, fingerprint: "f", leaseMs: 60_000 } })),
    ).toEqual({ evalsha: 1 });
  });

  it("makes one round trip for bucket + claim + charge, for a charge alone, and for a metered replay", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const tenantId = randomUUID();
    const limits = { capacity: 100, refillPerSecond: 1 };
    const bucket = { tenantId, id: "key:c" };
    const charge = { capability: "vault.projects.create", credits: 2, grant: 100 };
    await s.admission.admit({ bucket, cost: 1, limits, charge, claim: { ref: { tenantId, scope: "u:live", key: "warm" }, fingerprint: "f", leaseMs: 1000 } });
    await s.credits.charge({ tenantId, ...charge });
    await s.credits.usage(tenantId, 0);
    const ref = { tenantId, scope: "u:live", key: randomUUID() };
    let token = "";
    expect(
      await callsSince(null, async () => {
        const a = await s.admission.admit({ bucket, cost: 1, limits, charge, claim: { ref, fingerprint: "f", leaseMs: 60_000 } });
        if (a.claim?.outcome === "claimed" && a.credits?.outcome === "charged") token = a.claim.token;
      }),
    ).toEqual({ evalsha: 1 });
    expect(token).not.toBe("");
    expect(await callsSince(null, () => s.admission.admit({ bucket, cost: 1, limits, charge }))).toEqual({ evalsha: 1 });
    await s.idempotency.complete(ref, token, { status: 201, headers: {}, body: "" }, { ttlMs: 60_000 });
    expect(await callsSince(null, () => s.admission.admit({ bucket, cost: 1, limits, charge, claim: { ref, fingerprint: "f", leaseMs: 60_000 } }))).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.admission.admit({ bucket, cost: 1, limits, charge: { ...charge, credits: 1000 }, claim: { ref: { ...ref, key: "short" }, fingerprint: "f", leaseMs: 60_000 } }))).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.credits.charge({ tenantId, ...charge }))).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.credits.balance(tenantId, 100))).toEqual({ get: 1 });
    expect(await callsSince(null, () => s.credits.usage(tenantId, 0))).toEqual({ evalsha: 1 });
  });

  it("makes one round trip for a tenant-wide bucket with the key's, alone or with a claim and a charge", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const tenantId = randomUUID();
    const limits = { capacity: 100, refillPerSecond: 1 };
    const tenant = { ref: { tenantId, id: "tenant" }, limits: { capacity: 50, refillPerSecond: 1 } };
    const bucket = { tenantId, id: "key:t" };
    const charge = { capability: "vault.projects.create", credits: 2, grant: 100 };
    await s.admission.admit({ bucket, cost: 1, limits, tenant });
    await s.admission.admit({ bucket, cost: 1, limits, tenant, charge, claim: { ref: { tenantId, scope: "u:live", key: "warm" }, fingerprint: "f", leaseMs: 1000 } });
    expect(await callsSince(null, () => s.admission.admit({ bucket, cost: 1, limits, tenant }))).toEqual({ evalsha: 1 });
    expect(await callsSince(null, () => s.admission.admit({ bucket, cost: 1, limits, tenant, charge }))).toEqual({ evalsha: 1 });
    const claim = { ref: { tenantId, scope: "u:live", key: randomUUID() }, fingerprint: "f", leaseMs: 60_000 };
    let a: Awaited<ReturnType<typeof s.admission.admit>> | undefined;
    expect(await callsSince(null, async () => void (a = await s.admission.admit({ bucket, cost: 1, limits, tenant, charge, claim })))).toEqual({ evalsha: 1 });
    expect([a?.bucket.remaining, a?.tenant?.remaining, a?.claim?.outcome, a?.credits?.outcome]).toEqual([95, 45, "claimed", "charged"]);
  });

  it("runs a metered idempotent POST through createPolicy with one round trip before the handler and one after", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const keyCache = createVerifiedKeyCache({ store: s.keys, hasher: keyHasher, ttlMs: 60_000 });
    const policy = createPolicy({ environment: "test", keyHasher, keyCache, stores: s });
    const capability = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: true, credits: 2 });
    const { key, record } = await mintApiKey(s.keys, keyHasher, { tenantId: randomUUID() });
    const post = (k: string) => policy.decide(policyRequest({ method: "POST", path: capability.path, key, body: "{}", idempotencyKey: k }), capability);
    // Warm-up: the key lookup (then cached) and the once-a-minute last_used_at touch.
    const warm = await post("warm");
    if (warm.kind === "continue") await warm.commit({ status: 201, headers: {}, body: "" });
    for (let i = 0; i < 400 && !(await s.keys.get(record.tenant_id, record.id))?.last_used_at; i++) await new Promise((r) => setTimeout(r, 5));
    let decision: Awaited<ReturnType<typeof post>> | undefined;
    expect(
      await callsSince(null, async () => {
        decision = await post(randomUUID());
      }),
    ).toEqual({ evalsha: 1 });
    if (decision?.kind !== "continue") throw new Error("expected continue");
    expect(decision.headers.ratelimit).toContain('"credits";r=99996');
    const d = decision;
    expect(await callsSince(null, () => d.commit({ status: 201, headers: {}, body: "made" }))).toEqual({ evalsha: 1 });
  });
});

describe("RedisAdmission", () => {
  it("claims nothing when the bucket rejects", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const tenantId = randomUUID();
    const ref = { tenantId, scope: "u:live", key: "k" };
    const limits = { capacity: 1, refillPerSecond: SLOW };
    const a = await s.admission.admit({ bucket: { tenantId, id: "key:r" }, cost: 1, limits });
    expect(a.bucket.allowed).toBe(true);
    const b = await s.admission.admit({ bucket: { tenantId, id: "key:r" }, cost: 1, limits, claim: { ref, fingerprint: "f", leaseMs: 60_000 } });
    expect(b).toEqual({ bucket: expect.objectContaining({ allowed: false, remaining: 0 }) });
    expect(await s.idempotency.read(ref)).toBeNull();
  });

  it("answers mismatch and replays completed responses from the one script", async () => {
    const s = createRedisStores({ client, keyPrefix, commandTimeoutMs: 5000 });
    const tenantId = randomUUID();
    const ref = { tenantId, scope: "u:live", key: "k" };
    const limits = { capacity: 10, refillPerSecond: SLOW };
    const admit = (fingerprint: string) => s.admission.admit({ bucket: { tenantId, id: "key:m" }, cost: 1, limits, claim: { ref, fingerprint, leaseMs: 60_000 } });
    const first = await admit("f1");
    if (first.claim?.outcome !== "claimed") throw new Error("expected a claim");
    expect(first.claim.token).toMatch(/^\d{16}\.\d+$/);
    expect((await admit("f2")).claim).toEqual({ outcome: "mismatch" });
    const response = { status: 201, headers: { location: "/x" }, body: "ünï ✓" };
    expect(await s.idempotency.complete(ref, first.claim.token, response, { ttlMs: 60_000 })).toBe(true);
    expect((await admit("f1")).claim).toEqual({ outcome: "completed", response });
  });
});

describe("failure modes with no server at all", () => {
  async function deadClient(): Promise<Redis> {
    const c = new Redis(await freePort(), "127.0.0.1", { retryStrategy: () => 50 });
    c.on("error", () => {});
    // Let it notice there is nothing there.
    for (let i = 0; i < 200 && c.status !== "reconnecting"; i++) await new Promise((r) => setTimeout(r, 10));
    return c;
  }

  it("falls open onto 1/localShareOf of the bucket, and fails claims closed as unavailable", async () => {
    const c = await deadClient();
    const errors: string[] = [];
    const s = createRedisStores({ client: c, buckets: { localShareOf: 4 }, onError: (_e, op) => errors.push(op) });
    const tenantId = randomUUID();
    const limits = { capacity: 10, refillPerSecond: SLOW };
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await s.buckets.consume({ tenantId, id: "key:l" }, 1, limits)).allowed);
    expect(results).toEqual([true, true, false, false]);
    const a = await s.admission.admit({ bucket: { tenantId, id: "key:other" }, cost: 1, limits, claim: { ref: { tenantId, scope: "u:live", key: "k" }, fingerprint: "f", leaseMs: 1000 } });
    expect(a.bucket.allowed).toBe(true);
    expect(a.claim?.outcome).toBe("unavailable");
    if (a.claim?.outcome === "unavailable") expect(a.claim.error).toBeInstanceOf(RedisStoreUnavailableError);
    await expect(s.idempotency.claim({ tenantId, scope: "u:live", key: "k" }, "f", { leaseMs: 1000 })).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    expect(errors).toContain("bucket");
    expect(errors).toContain("claim");
    c.disconnect();
  });

  it("answers the credits unavailable when they fail open and throws when closed; the store's own methods throw", async () => {
    const c = await deadClient();
    const errors: string[] = [];
    const tenantId = randomUUID();
    const limits = { capacity: 10, refillPerSecond: SLOW };
    const charge = { capability: "vault.projects.create", credits: 2, grant: 10 };
    const claim = { ref: { tenantId, scope: "u:live", key: "k" }, fingerprint: "f", leaseMs: 1000 };
    const open = createRedisStores({ client: c, onError: (_e, op) => errors.push(op) });
    const a = await open.admission.admit({ bucket: { tenantId, id: "key:o" }, cost: 1, limits, claim, charge });
    expect(a.bucket.allowed).toBe(true);
    expect(a.claim?.outcome).toBe("unavailable");
    expect(a.credits?.outcome).toBe("unavailable");
    if (a.credits?.outcome === "unavailable") expect(a.credits.error).toBeInstanceOf(RedisStoreUnavailableError);
    expect(errors).toContain("charge");
    await expect(open.credits.charge({ tenantId, ...charge })).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    await expect(open.credits.refund({ tenantId, capability: charge.capability, credits: 2, hour: 0, grant: 10 })).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    await expect(open.credits.balance(tenantId, 10)).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    await expect(open.credits.add(tenantId, 1, 10)).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    await expect(open.credits.usage(tenantId, 0)).rejects.toBeInstanceOf(RedisStoreUnavailableError);

    const closed = createRedisStores({ client: c, credits: { failure: "closed" }, idempotency: { failure: "open" } });
    await expect(closed.admission.admit({ bucket: { tenantId, id: "key:c" }, cost: 1, limits, claim, charge })).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    // It threw before claiming on the local store: the key is still free there.
    expect((await closed.idempotency.claim(claim.ref, "f", { leaseMs: 1000 })).outcome).toBe("claimed");
    // Unmetered requests are not affected by the credits' failure mode.
    expect((await closed.admission.admit({ bucket: { tenantId, id: "key:c" }, cost: 1, limits })).bucket.allowed).toBe(true);
    c.disconnect();
  });

  it("throws from a closed bucket, and claims locally from an open idempotency store", async () => {
    const c = await deadClient();
    const s = createRedisStores({ client: c, buckets: { failure: "closed" }, idempotency: { failure: "open" } });
    const tenantId = randomUUID();
    const ref = { tenantId, scope: "u:live", key: "k" };
    await expect(s.buckets.consume({ tenantId, id: "key:l" }, 1, { capacity: 10, refillPerSecond: 1 })).rejects.toBeInstanceOf(RedisStoreUnavailableError);
    const claim = await s.idempotency.claim(ref, "f", { leaseMs: 60_000 });
    if (claim.outcome !== "claimed") throw new Error("expected a local claim");
    expect(claim.token).toMatch(/^local:/);
    expect((await s.idempotency.claim(ref, "f", { leaseMs: 60_000 })).outcome).toBe("in_flight");
    expect(await s.idempotency.complete(ref, claim.token, { status: 200, headers: {}, body: "" }, { ttlMs: 1000 })).toBe(true);
    c.disconnect();
  });
});

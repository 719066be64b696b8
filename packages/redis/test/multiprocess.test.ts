import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedisStores } from "../src/index";
import { testClient, testPrefix } from "./helpers";
import { Worker } from "./workers";

// Four real processes, each with its own client and stores, on one Redis.
const url = inject("redisUrl");
const keyPrefix = testPrefix("multi");
const client = testClient();
let workers: Worker[] = [];

beforeAll(async () => {
  workers = Array.from({ length: 4 }, () => new Worker(url, keyPrefix));
  await Promise.all(workers.map((w) => w.ready));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  client.disconnect();
});

describe("several processes on one Redis", () => {
  it("admit exactly the capacity plus the refill of one shared bucket, never more", async () => {
    // 0.0001 tokens/s: under 0.01 tokens refill during the test, so exactly the capacity.
    const job = { type: "consume" as const, tenantId: randomUUID(), id: "key:shared", n: 60, capacity: 50, refillPerSecond: 0.0001 };
    const allowed = await Promise.all(workers.map((w) => w.run<number>(job)));
    expect(allowed.reduce((a, b) => a + b, 0)).toBe(50);
    // A second burst finds it empty.
    const again = await Promise.all(workers.map((w) => w.run<number>({ ...job, n: 10 })));
    expect(again.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("give one claim to 50 concurrent identical requests over 4 processes: the handler runs once", async () => {
    const tenantId = randomUUID();
    const counterKey = `${keyPrefix}:{${tenantId}}:handler-runs`;
    const job = { tenantId, scope: "user-1:live", key: `order-${randomUUID()}`, counterKey, type: "claim" as const };
    const outcomes = (await Promise.all(workers.map((w, i) => w.run<string[]>({ ...job, n: i < 2 ? 13 : 12 })))).flat();
    expect(outcomes).toHaveLength(50);
    expect(outcomes.filter((o) => o === "claimed")).toHaveLength(1);
    expect(outcomes.every((o) => o === "claimed" || o === "in_flight" || o === "completed:run 1")).toBe(true);
    expect(await client.get(counterKey)).toBe("1");
    // Retries after completion replay the one response, in every process.
    const replays = (await Promise.all(workers.map((w) => w.run<string[]>({ ...job, n: 5 })))).flat();
    expect(replays).toEqual(Array.from({ length: 20 }, () => "completed:run 1"));
    expect(await client.get(counterKey)).toBe("1");
  });

  it("admit exactly floor(grant / price) charges racing for one tenant's last credits, never below zero", async () => {
    const tenantId = randomUUID();
    const scope = "user-1:live";
    const grant = 100;
    const price = 7;
    type Answer = { key: string | null; claim: string | null; outcome: string | null; balance: number | null };
    const answers = (await Promise.all(workers.map((w) => w.run<Answer[]>({ type: "charge", tenantId, scope, n: 30, price, grant })))).flat();
    expect(answers).toHaveLength(120);
    const charged = answers.filter((a) => a.outcome === "charged");
    expect(charged).toHaveLength(Math.floor(grant / price));
    // Each charge saw its own balance: 93, 86, ..., 2; every refusal saw the last 2.
    expect(charged.map((a) => a.balance).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 14 }, (_, i) => 2 + 7 * i));
    const refused = answers.filter((a) => a.outcome !== "charged");
    expect(refused.every((a) => a.outcome === "insufficient" && a.balance === 2 && a.claim === null)).toBe(true);
    const stores = createRedisStores({ client, keyPrefix, commandTimeoutMs: 10_000 });
    expect(await stores.credits.balance(tenantId, grant)).toBe(2);
    expect((await stores.credits.usage(tenantId, 0)).map((r) => [r.calls, r.credits])).toEqual([[14, 98]]);
    // A charged request keeps its claim; a refused one released it.
    for (const a of answers.filter((x) => x.key !== null)) {
      const record = await stores.idempotency.read({ tenantId, scope, key: a.key! });
      expect(record?.state ?? null).toBe(a.outcome === "charged" ? "in_flight" : null);
    }
    expect(charged.some((a) => a.key !== null)).toBe(true);
    expect(refused.some((a) => a.key !== null)).toBe(true);
  });
});

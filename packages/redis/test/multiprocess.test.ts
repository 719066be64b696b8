import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
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
});

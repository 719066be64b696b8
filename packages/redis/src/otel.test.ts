import { randomUUID } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyHasher, defineCapability } from "@alloovium/core";
import { pointValue, startTelemetryRig, type TelemetryRig } from "@alloovium/core/conformance";
import { createInstrumentedPolicy } from "@alloovium/core/otel";
import { mintApiKey, policyRequest, TEST_PEPPER } from "@alloovium/core/testing";
import { RedisServer } from "../test/redis-server";
import { createRedisStores } from "./index";

let server: RedisServer;
let client: Redis;
let rig: TelemetryRig;
beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis(server.url);
  client.on("error", () => {});
  rig = await startTelemetryRig();
});
afterAll(async () => {
  await rig?.close();
  client?.disconnect();
  await server?.destroy();
});

describe("createInstrumentedPolicy over the Redis stores", () => {
  it("traces each store call of a metered idempotent POST as a child of the request's span, and counts it", async () => {
    const stores = createRedisStores({ client, keyPrefix: `otel-${randomUUID()}`, commandTimeoutMs: 5000 });
    const keyHasher = createKeyHasher({ peppers: [TEST_PEPPER] });
    const policy = createInstrumentedPolicy({ environment: "test", keyHasher, stores }, { meterProvider: rig.meterProvider, storeSpans: true });
    const capability = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", cost: 1, idempotent: true, credits: 2 });
    const { key } = await mintApiKey(stores.keys, keyHasher, { tenantId: randomUUID() });
    const decision = await trace.getTracer("test").startActiveSpan("POST /api/v2/vault/projects", async (span) => {
      try {
        const d = await policy.decide(policyRequest({ method: "POST", path: capability.path, key, body: "{}", idempotencyKey: "otel-1" }), capability);
        if (d.kind === "continue") await d.commit({ status: 201, headers: {}, body: "made" });
        return d;
      } finally {
        span.end();
      }
    });
    expect(decision.kind).toBe("continue");
    const spans = rig.spans();
    const request = spans.find((s) => s.name === "POST /api/v2/vault/projects")!;
    expect(request.attributes).toMatchObject({ "alloovium.policy.capability": "vault.projects.create", "alloovium.policy.outcome": "admitted" });
    const children = spans.filter((s) => s.parentSpanId === request.spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(["alloovium.store keys.findByDigest", "alloovium.store admission.admit", "alloovium.store idempotency.complete"]));
    await new Promise((resolve) => setTimeout(resolve, 5)); // counted after the answer
    const m = await rig.metrics();
    expect(pointValue(m.get("alloovium.policy.decisions"), { outcome: "admitted", capability: "vault.projects.create", tier: "standard" })).toBe(1);
    expect(pointValue(m.get("alloovium.policy.credits.charged"), { capability: "vault.projects.create" })).toBe(2);
  });
});

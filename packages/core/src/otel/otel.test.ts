import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { pointValue, startTelemetryRig, type TelemetryRig } from "../conformance/telemetry";
import { MemoryIdempotencyStore } from "../idempotency";
import type { Decision, DecisionEvent } from "../pipeline";
import { createTestPolicy } from "../testing";
import { POLICY_DURATION_BUCKETS, POLICY_METRICS, createInstrumentedPolicy, type PolicyTelemetryOptions } from ".";

const list = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: ["vault:read"], cost: 1, credits: 2, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: [], cost: 1, credits: 5, idempotent: true });
const told = () => new Promise((resolve) => setTimeout(resolve, 5)); // events come after the answer

let rig: TelemetryRig;
beforeAll(async () => {
  rig = await startTelemetryRig();
});
afterAll(() => rig.close());

/** A fresh meter per policy (a rig's instruments would add up across tests). */
async function instrumented(telemetry: PolicyTelemetryOptions = {}, options: Parameters<typeof createTestPolicy>[0] = {}) {
  const own = await startTelemetryRig();
  const t = createTestPolicy({ ...options, create: (o) => createInstrumentedPolicy(o, { meterProvider: own.meterProvider, ...telemetry }) });
  return { t, metrics: () => own.metrics() };
}

describe("createInstrumentedPolicy: metrics", () => {
  it("counts nothing until a decision is taken, then every decision by its attributes", async () => {
    const { t, metrics } = await instrumented();
    expect((await metrics()).get(POLICY_METRICS.decisions)?.points ?? []).toEqual([]);
    const { key } = await t.mintKey({ scopes: ["vault:read"], tier: "free" });
    await t.call(list, { key });
    await t.call(list, { key });
    await t.call(list, {});
    await told();
    const m = await metrics();
    expect(pointValue(m.get(POLICY_METRICS.decisions), { outcome: "admitted", capability: "vault.projects.list", tier: "free" })).toBe(2);
    expect(pointValue(m.get(POLICY_METRICS.decisions), { outcome: "refused", code: "missing_credentials", capability: "vault.projects.list" })).toBe(1);
    expect(pointValue(m.get(POLICY_METRICS.creditsCharged), { capability: "vault.projects.list" })).toBe(4);
    const duration = m.get(POLICY_METRICS.duration)!;
    expect(duration.unit).toBe("s");
    expect(duration.points[0]!.histogram!.boundaries).toEqual(POLICY_DURATION_BUCKETS);
    expect(duration.points.reduce((n, p) => n + p.value, 0)).toBe(3);
    for (const p of duration.points) expect(p.histogram!.sum).toBeLessThan(1); // seconds, not milliseconds
  });

  it("records the duration by outcome and capability when asked", async () => {
    const { t, metrics } = await instrumented({ durationAttributes: true });
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    await t.call(list, { key });
    await t.call(create, {});
    await told();
    const duration = (await metrics()).get(POLICY_METRICS.duration)!;
    expect(duration.points.map((p) => [p.attributes, p.value])).toEqual([
      [{ outcome: "admitted", capability: "vault.projects.list" }, 1],
      [{ outcome: "refused", capability: "vault.projects.create" }, 1],
    ]);
  });

  it("adds the tenant id only when asked", async () => {
    const { t, metrics } = await instrumented({ tenantIds: true });
    const { key, record } = await t.mintKey({ scopes: ["vault:read"] });
    await t.call(list, { key });
    await told();
    const m = await metrics();
    expect(pointValue(m.get(POLICY_METRICS.decisions), { outcome: "admitted", capability: "vault.projects.list", tier: "standard", tenant: record.tenant_id })).toBe(1);
    expect(pointValue(m.get(POLICY_METRICS.creditsCharged), { capability: "vault.projects.list", tenant: record.tenant_id })).toBe(2);
  });

  it("counts store errors by store and operation and decisions that failed open by store, and still tells the user's listeners", async () => {
    const idempotency = new MemoryIdempotencyStore();
    idempotency.claim = () => Promise.reject(new Error("connection refused"));
    const errors: string[] = [];
    const events: DecisionEvent[] = [];
    const own = await startTelemetryRig();
    const t = createTestPolicy({
      idempotencyFailure: "open",
      onStoreError: (_e, operation) => errors.push(operation),
      onDecision: (e) => events.push(e),
      create: (o) => createInstrumentedPolicy({ ...o, stores: { ...o.stores, idempotency } }, { meterProvider: own.meterProvider }),
    });
    const { key } = await t.mintKey();
    const d = await t.call(create, { key, idempotencyKey: "k-1" });
    expect(d.kind).toBe("continue");
    await told();
    const m = await own.metrics();
    expect(pointValue(m.get(POLICY_METRICS.storeErrors), { store: "admission", operation: "admit" })).toBe(1);
    expect(pointValue(m.get(POLICY_METRICS.failedOpen), { store: "idempotency" })).toBe(1);
    expect(errors).toEqual(["admit"]);
    expect(events.map((e) => e.failedOpen)).toEqual([["idempotency"]]);
  });

  it("counts settlements and the credits a 5xx gives back", async () => {
    const { t, metrics } = await instrumented();
    const { key } = await t.mintKey();
    const d = await t.call(create, { key });
    if (d.kind !== "continue") throw new Error(d.kind);
    await d.commit({ status: 503 });
    await told();
    const m = await metrics();
    expect(pointValue(m.get(POLICY_METRICS.creditsRefunded), { capability: "vault.projects.create" })).toBe(5);
    expect(pointValue(m.get(POLICY_METRICS.settlements), { outcome: "refunded", capability: "vault.projects.create" })).toBe(1);
  });

  it("checks its options", () => {
    const t = createTestPolicy();
    expect(() => createInstrumentedPolicy({ environment: "live", keyHasher: t.keyHasher, stores: { keys: t.keyStore } }, null as never)).toThrow(
      "createInstrumentedPolicy: `telemetry` must be an object",
    );
    expect(() => createInstrumentedPolicy({ environment: "live", keyHasher: t.keyHasher, stores: { keys: t.keyStore }, onDecision: "log" as never })).toThrow("createPolicy: `onDecision` must be a function");
    expect(() => createInstrumentedPolicy({ environment: "live", keyHasher: t.keyHasher, stores: null as never }, { storeSpans: true })).toThrow("createPolicy: `stores` must be an object");
  });
});

describe("createInstrumentedPolicy: spans", () => {
  const tracer = () => trace.getTracer("test");
  const inSpan = <T>(name: string, fn: () => Promise<T>) => tracer().startActiveSpan(name, (s) => fn().finally(() => s.end()));

  it("sets the capability, the outcome and the code on the active span, and starts a span per store call under it", async () => {
    const { t } = await instrumented({ storeSpans: true });
    const { key } = await t.mintKey({ scopes: [] });
    await inSpan("GET /denied", () => t.call(list, { key }));
    await inSpan("POST /created", () => t.call(create, { key, idempotencyKey: "s-1" }));
    const spans = rig.spans();
    const denied = spans.find((s) => s.name === "GET /denied")!;
    expect(denied.attributes).toMatchObject({ "alloovium.policy.capability": "vault.projects.list", "alloovium.policy.outcome": "refused", "alloovium.policy.code": "insufficient_scope" });
    const created = spans.find((s) => s.name === "POST /created")!;
    expect(created.attributes).toMatchObject({ "alloovium.policy.capability": "vault.projects.create", "alloovium.policy.outcome": "admitted" });
    expect(created.attributes["alloovium.policy.code"]).toBeUndefined();
    const children = spans.filter((s) => s.parentSpanId === created.spanId);
    expect(children.map((s) => s.name)).toEqual(expect.arrayContaining(["alloovium.store buckets.consume", "alloovium.store idempotency.claim", "alloovium.store credits.charge"]));
    expect(children.every((s) => s.attributes["alloovium.store"] !== undefined)).toBe(true);
  });

  it("marks a failed store call's span as an error", async () => {
    const idempotency = new MemoryIdempotencyStore();
    idempotency.claim = () => Promise.reject(new Error("connection refused"));
    const t = createTestPolicy({ create: (o) => createInstrumentedPolicy({ ...o, stores: { ...o.stores, idempotency } }, { storeSpans: true }) });
    const { key } = await t.mintKey();
    const d = await inSpan("POST /outage", () => t.call(create, { key, idempotencyKey: "o-1" }));
    expect(d.kind === "reject" && d.problem.code).toBe("idempotency_unavailable");
    const spans = rig.spans();
    const outage = spans.find((s) => s.name === "POST /outage")!;
    const claim = spans.find((s) => s.parentSpanId === outage.spanId && s.name === "alloovium.store idempotency.claim")!;
    expect(claim.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(outage.attributes["alloovium.policy.code"]).toBe("idempotency_unavailable");
  });

  it("leaves spans alone with spanAttributes: false, and answers the same outside any span", async () => {
    const { t } = await instrumented({ spanAttributes: false });
    const { key } = await t.mintKey({ scopes: ["vault:read"] });
    await inSpan("GET /quiet", () => t.call(list, { key }));
    const quiet = rig.spans().find((s) => s.name === "GET /quiet")!;
    expect(Object.keys(quiet.attributes).filter((k) => k.startsWith("alloovium."))).toEqual([]);
    const plain = createTestPolicy();
    const { key: other } = await plain.mintKey({ scopes: ["vault:read"] });
    const without: Decision = await t.call(list, { key: other }); // outside any span: no span to annotate
    expect(without.kind).toBe("reject"); // that key is another policy's: unknown here
  });
});

import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import { ProblemError } from "../problems";
import { createTestPolicy } from "../testing";
import type { ContinueDecision, Decision } from "./decision";

const free = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });
const metered = defineCapability({ id: "vault.projects.list", method: "GET", path: "/api/v2/vault/projects", scopes: [], cost: 1, credits: 3, idempotent: true });
const create = defineCapability({ id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects", scopes: [], cost: 1, credits: 2, idempotent: true });

function continued(d: Decision): ContinueDecision {
  if (d.kind !== "continue") throw new Error(`expected continue, got ${d.kind}`);
  return d;
}

async function setup() {
  const t = createTestPolicy({ creditGrant: 100 });
  const { key, record } = await t.mintKey();
  const balance = () => t.credits!.balance(record.tenant_id, 100);
  return { t, key, balance };
}

describe("one settle protocol: owes, commit, abort", () => {
  it("says what the adapter owes: nothing, the status, or the whole response", async () => {
    const { t, key } = await setup();
    expect(continued(await t.call(free, { key })).owes).toBe("nothing");
    expect(continued(await t.call(metered, { key })).owes).toBe("status");
    expect(continued(await t.call(create, { key, body: {}, idempotencyKey: "a" })).owes).toBe("response");
    const off = createTestPolicy({ metering: false });
    expect(continued(await off.call(create, { key: (await off.mintKey()).key, body: {} })).owes).toBe("nothing");
  });

  it("abort answers a thrown ProblemError below 500 as the handler's answer, with the decision's headers, and keeps the credits", async () => {
    const { t, key, balance } = await setup();
    const d = continued(await t.call(metered, { key }));
    const r = await d.abort(new ProblemError("not_found", "Project not found."));
    expect([r.status, JSON.parse(r.body).code, r.headers["content-type"]]).toEqual([404, "not_found", "application/problem+json"]);
    expect(r.headers["ratelimit"]).toBe(d.headers["ratelimit"]);
    expect(await balance()).toBe(97);
    await d.commit({ status: 500 }); // settled already: no refund now
    expect(await balance()).toBe(97);
  });

  it("abort answers anything else with a bare 500 and refunds, once", async () => {
    const { t, key, balance } = await setup();
    const d = continued(await t.call(metered, { key }));
    const r = await d.abort(new Error("db password is hunter2"));
    expect([r.status, JSON.parse(r.body).code]).toEqual([500, "internal_error"]);
    expect(r.body).not.toContain("hunter2");
    await d.abort(new Error("again"));
    expect(await balance()).toBe(100);
    const free1 = continued(await t.call(free, { key }));
    expect((await free1.abort("not an Error")).status).toBe(500);
  });

  it("stores a ProblemError answer for replay, and releases the key after a crash so that a retry runs", async () => {
    const { t, key, balance } = await setup();
    const first = continued(await t.call(create, { key, body: {}, idempotencyKey: "k1" }));
    await first.abort(new ProblemError("validation_failed", "bad", { errors: [{ field: "name", message: "is required" }] }));
    const replay = await t.call(create, { key, body: {}, idempotencyKey: "k1" });
    expect(replay.kind === "replay" && [replay.response.status, replay.response.headers["idempotent-replayed"]]).toEqual([422, "true"]);
    const crashed = continued(await t.call(create, { key, body: {}, idempotencyKey: "k2" }));
    await crashed.abort(new Error("boom"));
    expect((await t.call(create, { key, body: {}, idempotencyKey: "k2" })).kind).toBe("continue");
    expect(await balance()).toBe(100 - 2 - 2); // the 422 kept its charge; the crash was refunded; the retry charged again
  });

  it("commits a response without a body (a stream) by releasing the key and keeping the credits", async () => {
    const { t, key, balance } = await setup();
    const d = continued(await t.call(create, { key, body: {}, idempotencyKey: "s" }));
    await d.commit({ status: 200 });
    expect(await balance()).toBe(98);
    expect((await t.call(create, { key, body: {}, idempotencyKey: "s" })).kind).toBe("continue"); // runs again
  });

  it("tells onStoreError when the record was no longer held and the response was not stored", async () => {
    const errors: string[] = [];
    const t = createTestPolicy({ idempotencyLeaseMs: 1000, onStoreError: (_e, op) => errors.push(op) });
    const { key } = await t.mintKey();
    const slow = continued(await t.call(create, { key, body: {}, idempotencyKey: "late" }));
    t.clock.advance(1500); // the lease ran out: another request takes the key over
    const fast = continued(await t.call(create, { key, body: {}, idempotencyKey: "late" }));
    await fast.commit({ status: 201, headers: {}, body: '{"id":"fast"}' });
    await slow.commit({ status: 201, headers: {}, body: '{"id":"slow"}' });
    expect(errors).toEqual(["complete"]);
    const replay = await t.call(create, { key, body: {}, idempotencyKey: "late" });
    expect(replay.kind === "replay" && replay.response.body).toBe('{"id":"fast"}');
  });
});

import { toJsonSchema, toStandardJsonSchema } from "@valibot/to-json-schema";
import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { defineCapability, type Capability } from "../capabilities";
import { createTestPolicy } from "../testing";
import { createHttpGate, type GateResult } from "./gate";
import { inputOf, queryOf, validateInput } from "./input";

const TENANT = "c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8"; // mintApiKey's default tenant

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

const Body = z.object({ name: z.string().min(1, "is required"), size: z.number().int().optional() });

const create = defineCapability({
  id: "things.create",
  method: "POST",
  path: "/things/{group}",
  scopes: ["things:write"],
  cost: 1,
  credits: 2,
  idempotent: true,
  params: z.object({ group: z.enum(["a", "b"]) }),
  query: z.object({ dry_run: z.enum(["true", "false"]).optional() }),
  body: Body,
});

/** A gate over a test policy, a key holding `things:write`, and a way to send one request. */
async function setup(capability: Capability = create) {
  const t = createTestPolicy({ environment: "live" });
  const { key } = await t.mintKey({ scopes: ["things:write"], tier: "pro" });
  const gate = createHttpGate({ policy: t.policy });
  const send = (target: string, body?: string, headers: string[] = []): Promise<GateResult> =>
    gate.enter(
      {
        method: capability.method,
        url: target,
        headers: ["Authorization", `Bearer ${key}`, ...(body === undefined ? [] : ["Content-Type", "application/json", "Content-Length", String(Buffer.byteLength(body))]), ...headers],
        ...(body === undefined ? {} : { body: chunks(body) }),
      },
      capability,
    );
  return { t, send };
}

const problem = (r: GateResult) => (r.kind === "respond" ? { status: r.response.status, ...(JSON.parse(r.response.body) as Record<string, unknown>) } : r);

describe("request validation in the gate (after the policy admitted the request)", () => {
  it("hands the handler the parsed, typed input", async () => {
    const { send } = await setup();
    const r = await send("/things/a?dry_run=true", JSON.stringify({ name: "x", size: 3 }));
    if (r.kind !== "continue") throw new Error(r.response.body);
    const input = inputOf(create, r);
    expectTypeOf(input.body).toEqualTypeOf<{ name: string; size?: number | undefined }>();
    expectTypeOf(input.params).toEqualTypeOf<{ group: "a" | "b" }>();
    expect(input).toEqual({ params: { group: "a" }, query: { dry_run: "true" }, body: { name: "x", size: 3 } });
    await r.decision.commit({ status: 201 });
  });

  it("answers 400 invalid_parameter with param for a path parameter or a query the schemas refuse", async () => {
    const { send } = await setup();
    expect(problem(await send("/things/c", "{}"))).toMatchObject({ status: 400, code: "invalid_parameter", param: "group" });
    expect(problem(await send("/things/a?dry_run=maybe", '{"name":"x"}'))).toMatchObject({ status: 400, code: "invalid_parameter", param: "dry_run" });
  });

  it("answers 400 invalid_body for a body that is not JSON or is missing, 422 validation_failed with every field error", async () => {
    const { send } = await setup();
    expect(problem(await send("/things/a", "{"))).toMatchObject({ status: 400, code: "invalid_body", detail: "The request body is not valid JSON." });
    expect(problem(await send("/things/a"))).toMatchObject({ status: 400, code: "invalid_body" });
    const refused = problem(await send("/things/a", JSON.stringify({ name: "", size: 1.5 })));
    expect(refused).toMatchObject({ status: 422, code: "validation_failed", detail: "The request has 2 invalid fields." });
    expect((refused as unknown as { errors: unknown }).errors).toEqual([
      { field: "name", message: "is required" },
      { field: "size", message: expect.any(String) },
    ]);
    expect(problem(await send("/things/a", "[1]"))).toMatchObject({ status: 422, errors: [{ field: "body", message: expect.any(String) }] });
  });

  it("validates only after the policy: a request refused before (401, 403) is never validated", async () => {
    const { t } = await setup();
    const gate = createHttpGate({ policy: t.policy });
    const anonymous = await gate.enter({ method: "POST", url: "/things/c", headers: ["Content-Type", "application/json", "Content-Length", "1"], body: chunks("{") }, create);
    expect(problem(anonymous)).toMatchObject({ status: 401, code: "missing_credentials" });
    const { key } = await t.mintKey({ scopes: [] });
    const unscoped = await gate.enter({ method: "POST", url: "/things/c", headers: ["Authorization", `Bearer ${key}`, "Content-Type", "application/json", "Content-Length", "1"], body: chunks("{") }, create);
    expect(problem(unscoped)).toMatchObject({ status: 403, code: "insufficient_scope" });
  });

  it("settles a refused input as the handler's answer: stored for replay under its Idempotency-Key, credits kept", async () => {
    const { t, send } = await setup();
    const bad = JSON.stringify({ name: "" });
    const first = await send("/things/a", bad, ["Idempotency-Key", "k-1"]);
    expect(problem(first)).toMatchObject({ status: 422, code: "validation_failed" });
    if (first.kind !== "respond") throw new Error("expected an answer");
    expect(first.response.headers["ratelimit"]).toMatch(/"tokens";r=\d+/); // the decision's headers ride on it
    const again = await send("/things/a", bad, ["Idempotency-Key", "k-1"]);
    if (again.kind !== "respond") throw new Error("expected a replay");
    expect(again.response.status).toBe(422);
    expect(again.response.headers["idempotent-replayed"]).toBe("true");
    expect(again.response.body).toBe(first.response.body);
    // Charged once (2 credits), kept for the handler's 422, not charged again for the replay.
    expect(await t.credits!.balance(TENANT, 100_000)).toBe(100_000 - 2);
  });

  it("validates with valibot through Standard Schema, its JSON Schema from toStandardJsonSchema", async () => {
    const schema = toStandardJsonSchema(v.object({ title: v.pipe(v.string(), v.minLength(2, "is too short")) }));
    const cap = defineCapability({ id: "notes.create", method: "POST", path: "/notes", scopes: ["things:write"], cost: 1, idempotent: true, body: schema });
    const { send } = await setup(cap);
    const ok = await send("/notes", '{"title":"hello"}');
    if (ok.kind !== "continue") throw new Error(ok.response.body);
    expect(inputOf(cap, ok).body).toEqual({ title: "hello" });
    expect(problem(await send("/notes", '{"title":"h"}'))).toMatchObject({ status: 422, errors: [{ field: "title", message: "is too short" }] });
    // The document form without Standard JSON Schema: { schema, jsonSchema }.
    const plain = v.object({ title: v.string() });
    const documented = defineCapability({ id: "notes.put", method: "PUT", path: "/notes", cost: 1, idempotent: true, body: { schema: plain, jsonSchema: toJsonSchema(plain) } });
    expect(documented.schemas.body).toBeDefined();
  });

  it("refuses a declaration whose schema is not a Standard Schema, naming the field", () => {
    expect(() => defineCapability({ id: "a.b", method: "GET", path: "/a", cost: 1, idempotent: true, query: {} as never })).toThrow(/capability "a.b": `query` must be a Standard Schema/);
    expect(() => defineCapability({ id: "a.b", method: "GET", path: "/a", cost: 1, idempotent: true, responses: { 404: { description: "x" } } })).toThrow(/`responses` has a status "404"/);
    expect(() => defineCapability({ id: "a.b", method: "GET", path: "/a", cost: 1, idempotent: true, problems: ["teapot" as never] })).toThrow(/`problems` has an unknown code/);
  });

  it("gives a capability without schemas its raw params, query and body", async () => {
    const raw = defineCapability({ id: "things.get", method: "GET", path: "/things/{id}", scopes: ["things:write"], cost: 1, idempotent: true });
    const { send } = await setup(raw);
    const r = await send("/things/x%20y?a=1&a=2&b=3");
    if (r.kind !== "continue") throw new Error(r.response.body);
    expect({ params: r.input.params, query: r.input.query, body: r.input.body }).toEqual({ params: { id: "x y" }, query: { a: ["1", "2"], b: "3" }, body: undefined });
  });
});

describe("validateInput", () => {
  it("answers any JSON body with the parsed input or a 400/422 problem whose errors are fields and messages, never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        const r = await validateInput(create, { method: "POST", path: "/things/a", query: "", headers: [], body });
        if ("code" in r) {
          expect(["invalid_body", "validation_failed"]).toContain(r.code);
          for (const e of (r.extensions?.["errors"] as { field: unknown; message: unknown }[] | undefined) ?? []) {
            expect(typeof e.field).toBe("string");
            expect(typeof e.message).toBe("string");
          }
        } else expect(Body.safeParse(body).success).toBe(true);
      }),
    );
  });
});

describe("queryOf", () => {
  it("maps each name to its value, a repeated name to all its values in order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 8 }), (pairs) => {
        const q = queryOf(new URLSearchParams(pairs).toString());
        const names = [...new Set(pairs.map(([n]) => n))];
        expect(Object.keys(q).sort()).toEqual(names.sort());
        for (const n of names) {
          const values = pairs.filter(([m]) => m === n).map(([, x]) => x);
          expect(q[n]).toEqual(values.length === 1 ? values[0] : values);
        }
      }),
    );
  });
});

/**
 * Hostile and edge input through the gate's validation: bounded 422 lists, the parameter named,
 * deep nesting never a 500, asynchronous schemas at start-up, query values as documented.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCapability, type Capability } from "../capabilities";
import { createOpenApiDocument } from "../openapi";
import { MAX_FIELD_ERRORS, MAX_FIELD_LENGTH, MAX_FIELD_MESSAGE_LENGTH, validationFailed } from "../problems/problem";
import { createTestPolicy } from "../testing";
import { createHttpGate, type GateResult } from "./gate";

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function setup(capability: Capability) {
  const t = createTestPolicy({ environment: "live" });
  const { key } = await t.mintKey({ scopes: ["things:write"], tier: "pro" });
  const gate = createHttpGate({ policy: t.policy, bodyLimitBytes: 4_000_000 });
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

type Answer = { status: number; code?: string; detail?: string; param?: string; errors?: { field: string; message: string }[] };
const problem = (r: GateResult): Answer => {
  if (r.kind !== "respond") throw new Error("expected an answer, the handler was reached");
  return { status: r.response.status, ...(JSON.parse(r.response.body) as Record<string, unknown>) };
};
const points = (s: string) => [...s].length;
const unknownKeys = (n: number, name = (i: number) => `k${i}`) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [name(i), 1])));

const post = (name: string, body: z.ZodType) => defineCapability({ id: `things.${name}`, method: "POST", path: `/${name}`, scopes: ["things:write"], cost: 1, idempotent: true, body });

describe("422 validation_failed is bounded (review #1)", () => {
  const closed = post("closed", z.object({ name: z.string().optional() }).catchall(z.never({ error: "is not a writable field" }).optional()));
  const strict = post("strict", z.strictObject({ name: z.string().optional() }));

  it("lists the first 100 errors and counts them all, whatever the schema reports them as", async () => {
    for (const cap of [closed, strict]) {
      const { send } = await setup(cap);
      const a = problem(await send(cap.path, unknownKeys(5_000)));
      expect(a).toMatchObject({ status: 422, code: "validation_failed", detail: "The request has 5000 invalid fields. The first 100 are listed." });
      expect(a.errors).toHaveLength(MAX_FIELD_ERRORS);
      expect(a.errors?.[0]).toMatchObject({ field: "k0" }); // one error per unknown member, in order
      expect(a.errors?.[99]).toMatchObject({ field: "k99" });
    }
  });

  it("cuts a long field (by code points, never splitting one) and a long message", async () => {
    const { send } = await setup(closed);
    const long = "😀".repeat(5_000);
    const a = problem(await send("/closed", JSON.stringify({ [long]: 1 })));
    const field = a.errors?.[0]?.field as string;
    expect(points(field)).toBe(MAX_FIELD_LENGTH);
    expect(field).toBe(`${"😀".repeat(MAX_FIELD_LENGTH - 1)}…`);
    const many = validationFailed([{ field: "x".repeat(201), message: "m".repeat(10_000) }, { field: "ok", message: "short" }]);
    const errors = many.extensions?.["errors"] as { field: string; message: string }[];
    expect(errors[0]).toEqual({ field: `${"x".repeat(199)}…`, message: `${"m".repeat(MAX_FIELD_MESSAGE_LENGTH - 1)}…` });
    expect(errors[1]).toEqual({ field: "ok", message: "short" });
    expect(many.detail).toBe("The request has 2 invalid fields.");
  });

  it("stores only the bounded answer for replay", async () => {
    const { send } = await setup(closed);
    const body = unknownKeys(20_000);
    const first = await send("/closed", body, ["Idempotency-Key", "big-1"]);
    const again = await send("/closed", body, ["Idempotency-Key", "big-1"]);
    if (first.kind !== "respond" || again.kind !== "respond") throw new Error("expected answers");
    expect(again.response.headers["idempotent-replayed"]).toBe("true");
    expect(again.response.body).toBe(first.response.body);
    expect(Buffer.byteLength(first.response.body)).toBeLessThan(10_000);
  });

  it("documents the limits the server keeps", () => {
    const doc = createOpenApiDocument([closed], { title: "T", version: "1" }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const s = doc["components"]["schemas"];
    expect(s["Problem_validation_failed"].properties.errors.maxItems).toBe(MAX_FIELD_ERRORS);
    expect(s["FieldError"].properties.field.maxLength).toBe(MAX_FIELD_LENGTH);
    expect(s["FieldError"].properties.message.maxLength).toBe(MAX_FIELD_MESSAGE_LENGTH);
  });
});

describe("400 invalid_parameter names the parameter and is bounded (review #4)", () => {
  const list = defineCapability({ id: "things.list", method: "GET", path: "/things/{group}", scopes: ["things:write"], cost: 1, idempotent: true, params: z.strictObject({ group: z.string() }), query: z.strictObject({ q: z.string().optional() }) });

  it("names an unknown query member, not `query`", async () => {
    const { send } = await setup(list);
    expect(problem(await send("/things/a?colour=red"))).toMatchObject({ status: 400, code: "invalid_parameter", param: "colour" });
    expect(problem(await send("/things/a?q=x&zeta=1"))).toMatchObject({ param: "zeta" });
  });

  it("keeps param and detail within the document's limits for a huge name and a huge message", async () => {
    const { send } = await setup(list);
    const name = "n".repeat(5_000);
    const a = problem(await send(`/things/a?${name}=1`));
    expect(points(a.param as string)).toBeLessThanOrEqual(200);
    expect(a.param).toBe(`${"n".repeat(199)}…`);
    expect(points(a.detail as string)).toBeLessThanOrEqual(2_000);
    const wordy = defineCapability({ id: "things.w", method: "GET", path: "/w", scopes: ["things:write"], cost: 1, idempotent: true, query: z.object({ q: z.string().refine(() => false, "x".repeat(6_000)) }) });
    const w = await setup(wordy);
    const b = problem(await w.send("/w?q=1"));
    expect(b).toMatchObject({ status: 400, param: "q" });
    expect(points(b.detail as string)).toBeLessThanOrEqual(2_000);
  });
});

describe("a schema that overflows on deep input answers 422, never 500 (review #5)", () => {
  type Node = { name: string; children?: Node[] | undefined };
  const NodeSchema: z.ZodType<Node> = z.object({ name: z.string(), get children() { return z.array(NodeSchema).optional(); } });
  type Value = number | Value[];
  const ValueSchema: z.ZodType<Value> = z.union([z.number(), z.lazy(() => z.array(ValueSchema))]);

  it("refuses JSON nested 50,000 deep at the body root", async () => {
    for (const [cap, body] of [
      [post("tree", NodeSchema), `${'{"name":"a","children":['.repeat(50_000)}${"]}".repeat(50_000)}`],
      [post("nested", ValueSchema), `${"[".repeat(50_000)}1${"]".repeat(50_000)}`],
    ] as const) {
      const { send } = await setup(cap);
      const a = problem(await send(cap.path, body));
      expect(a).toMatchObject({ status: 422, code: "validation_failed", errors: [{ field: "body", message: "is nested too deeply to validate" }] });
    }
  });

  it("still answers 500 for a schema that throws anything else (a bug)", async () => {
    const broken = post("broken", z.object({}).transform(() => { throw new TypeError("bug"); }));
    const { send } = await setup(broken);
    expect(problem(await send("/broken", "{}"))).toMatchObject({ status: 500, code: "internal_error" });
  });
});

describe("start-up checks of an asynchronous schema (review #6)", () => {
  it("never leaves a rejection unhandled when the schema rejects on no body", async () => {
    const unhandled: unknown[] = [];
    const listener = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", listener);
    try {
      const rejecting = { "~standard": { version: 1, vendor: "test", validate: (v: unknown) => (v === undefined ? Promise.reject(new Error("no body")) : Promise.resolve({ value: v })) } } as const;
      const cap = defineCapability({ id: "async.create", method: "POST", path: "/async", scopes: ["things:write"], cost: 1, idempotent: true, body: { schema: rejecting, jsonSchema: { type: "object" } } });
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      const { send } = await setup(cap);
      expect(problem(await send("/async"))).toMatchObject({ status: 400, code: "invalid_body", detail: "A JSON body is required." });
    } finally {
      process.off("unhandledRejection", listener);
    }
  });
});

describe("query values reach the schema as the document types them (review #7)", () => {
  const search = defineCapability({
    id: "things.search",
    method: "GET",
    path: "/search",
    scopes: ["things:write"],
    cost: 1,
    idempotent: true,
    query: z.object({ flag: z.boolean().optional(), tags: z.array(z.string()).optional(), n: z.number().int().optional(), ratio: z.number().optional(), ids: z.array(z.number().int()).optional(), name: z.string().optional() }),
  });

  it("converts booleans and numbers, wraps a single value of an array member, leaves strings alone", async () => {
    const { send } = await setup(search);
    const r = await send("/search?flag=true&tags=a&n=5&ratio=0.5&ids=1&ids=2&name=007");
    if (r.kind !== "continue") throw new Error(r.response.body);
    expect(r.input.query).toEqual({ flag: true, tags: ["a"], n: 5, ratio: 0.5, ids: [1, 2], name: "007" });
    const f = await send("/search?flag=false&tags=a&tags=b");
    if (f.kind !== "continue") throw new Error(f.response.body);
    expect(f.input.query).toEqual({ flag: false, tags: ["a", "b"] });
  });

  it("still refuses what does not read as the type, naming the parameter", async () => {
    const { send } = await setup(search);
    expect(problem(await send("/search?flag=yes"))).toMatchObject({ status: 400, code: "invalid_parameter", param: "flag" });
    expect(problem(await send("/search?n=1.5"))).toMatchObject({ status: 400, param: "n" });
    expect(problem(await send("/search?n=0x10"))).toMatchObject({ status: 400, param: "n" });
    expect(problem(await send("/search?ids=1&ids=x"))).toMatchObject({ status: 400, param: "ids" });
  });
});

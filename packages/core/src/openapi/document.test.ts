/** The document's names, problems and header rules under declarations the README example does not cover. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCapability, type Capability } from "../capabilities";
import { createTestPolicy } from "../testing";
import { createOpenApiDocument } from "./index";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const opts = { title: "T", version: "1" };
const schemaAt = (doc: Json, ref: string): Json => doc["components"]["schemas"][ref.split("/").pop() as string];
const codesAt = (doc: Json, op: Json, status: number): string[] => {
  const s = op["responses"][String(status)]["content"]["application/problem+json"]["schema"];
  return ((s.oneOf ?? [s]) as Json[]).map((r) => schemaAt(doc, r["$ref"])["properties"]["code"]["const"]);
};
/** Every `$ref` in the document resolves to a component. */
function refsOf(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refsOf(x, out);
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) k === "$ref" && typeof x === "string" ? out.push(x) : refsOf(x, out);
  return out;
}
const resolves = (doc: Json, ref: string) => {
  const [, kind, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref) ?? [];
  return kind !== undefined && name !== undefined && doc["components"][kind]?.[name] !== undefined;
};

type A = { a: string; next?: A | undefined };
type B = { b: number; more?: B[] | undefined };
const RecA: z.ZodType<A> = z.object({ a: z.string(), get next() { return RecA.optional(); } });
const RecB: z.ZodType<B> = z.object({ b: z.number(), get more() { return z.array(RecB).optional(); } });
const cap = (id: string, extra: Record<string, unknown> = {}) => defineCapability({ id, method: "POST", path: `/${id.replace(/\./g, "/")}`, cost: 1, idempotent: true, ...extra } as never) as Capability;

describe("schema names in components.schemas (review #2)", () => {
  it("gives each capability's anonymous definitions their own names: nested and root recursion", () => {
    const doc: Json = createOpenApiDocument(
      [cap("x.a", { body: z.object({ root: RecA }) }), cap("x.b", { body: z.object({ root: RecB }) }), cap("x.c", { body: RecA }), cap("x.d", { body: RecB, responses: { 201: { description: "B", schema: RecB } } })],
      opts,
    );
    const bodyOf = (path: string) => doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
    const a = schemaAt(doc, bodyOf("/x/a").properties.root.$ref);
    const b = schemaAt(doc, bodyOf("/x/b").properties.root.$ref);
    expect(Object.keys(a.properties)).toEqual(["a", "next"]);
    expect(Object.keys(b.properties)).toEqual(["b", "more"]);
    // A recursive root moves to components: no `$ref: "#"` (the whole document) is left.
    expect(JSON.stringify(doc)).not.toContain('"$ref":"#"');
    expect(Object.keys(schemaAt(doc, bodyOf("/x/c").$ref).properties)).toEqual(["a", "next"]);
    expect(Object.keys(schemaAt(doc, bodyOf("/x/d").$ref).properties)).toEqual(["b", "more"]);
    const d201 = doc["paths"]["/x/d"]["post"]["responses"]["201"]["content"]["application/json"]["schema"];
    expect(d201.$ref).not.toBe(bodyOf("/x/d").$ref);
    for (const r of refsOf(doc)) expect(resolves(doc, r), r).toBe(true);
  });

  it("refuses a schema id that is one of the document's own names", () => {
    for (const id of ["Problem", "FieldError", "Problem_rate_limited"]) {
      const body = z.object({ p: z.object({ x: z.string() }).meta({ id }) });
      expect(() => createOpenApiDocument([cap("x.a", { body })], opts)).toThrow(new RegExp(`capability "x.a": body: the schema name "${id}" is the document's own`));
    }
  });

  it("shares one id given to the same schema, refuses one id given to different schemas", () => {
    const Tag = z.object({ label: z.string() }).meta({ id: "Tag" });
    const doc: Json = createOpenApiDocument([cap("x.a", { body: z.object({ t: Tag }) }), cap("x.b", { body: z.object({ tags: z.array(Tag) }) })], opts);
    expect(doc["components"]["schemas"]["Tag"]).toEqual({ type: "object", properties: { label: { type: "string" } }, required: ["label"] });
    const Other = z.object({ size: z.number() }).meta({ id: "Tag" });
    expect(() => createOpenApiDocument([cap("x.a", { body: z.object({ t: Tag }) }), cap("x.b", { body: z.object({ t: Other }) })], opts)).toThrow(/two different schemas are named "Tag"/);
  });
});

describe("the problems each operation can answer", () => {
  const get = defineCapability({ id: "things.get", method: "GET", path: "/things/{id}", scopes: ["things:read"], cost: 1, idempotent: true });
  const del = defineCapability({ id: "things.delete", method: "DELETE", path: "/things/{id}", scopes: ["things:write"], cost: 1, idempotent: true });
  const me = defineCapability({ id: "meta.whoami", method: "GET", path: "/me", cost: 1, idempotent: true });
  const paid = defineCapability({ id: "things.buy", method: "POST", path: "/things", cost: 1, credits: 5, idempotent: true });

  it("lists invalid_body on every method: a body that is not UTF-8 or not readable is refused on any (review #3)", () => {
    const doc: Json = createOpenApiDocument([get, del, me, paid], opts);
    for (const [path, method] of [["/things/{id}", "get"], ["/things/{id}", "delete"], ["/me", "get"], ["/things", "post"]] as const) {
      expect(codesAt(doc, doc["paths"][path][method], 400), `${method} ${path}`).toContain("invalid_body");
    }
  });

  it("lists insufficient_scope only where a scope is needed or the handler declares it (review #9)", () => {
    const declared = defineCapability({ id: "meta.other", method: "GET", path: "/other", cost: 1, idempotent: true, problems: ["insufficient_scope"] });
    const doc: Json = createOpenApiDocument([get, me, declared], opts);
    expect(codesAt(doc, doc["paths"]["/me"]["get"], 403)).toEqual(["environment_mismatch"]);
    expect(codesAt(doc, doc["paths"]["/things/{id}"]["get"], 403)).toEqual(["insufficient_scope", "environment_mismatch"]);
    expect(codesAt(doc, doc["paths"]["/other"]["get"], 403)).toEqual(["insufficient_scope", "environment_mismatch"]);
  });

  it("takes the policy's settings: no 402 without a credit store, its Idempotency-Key methods, a mismatch refused (review #9)", () => {
    const unmetered = createTestPolicy({ environment: "live", metering: false } as never).policy;
    const metered = createTestPolicy({ environment: "live" }).policy;
    expect(unmetered.credits).toBeUndefined();
    const put = defineCapability({ id: "things.put", method: "PUT", path: "/things/{id}", cost: 1, credits: 1, idempotent: true });
    const off: Json = createOpenApiDocument([paid, put], { ...opts, policy: unmetered });
    expect(off["paths"]["/things"]["post"]["responses"]["402"]).toBeUndefined();
    const on: Json = createOpenApiDocument([paid, put], { ...opts, policy: metered });
    expect(codesAt(on, on["paths"]["/things"]["post"], 402)).toEqual(["insufficient_credits"]);
    expect(on["paths"]["/things/{id}"]["put"]["responses"]["409"]).toBeUndefined(); // PUT: not honoured by default
    const putPolicy = createTestPolicy({ environment: "live", idempotencyMethods: ["POST", "PUT"] } as never).policy;
    const withPut: Json = createOpenApiDocument([put], { ...opts, policy: putPolicy });
    expect(codesAt(withPut, withPut["paths"]["/things/{id}"]["put"], 409)).toEqual(["idempotency_key_in_use"]);
    expect(() => createOpenApiDocument([put], { ...opts, policy: putPolicy, idempotencyMethods: ["POST", "PATCH"] })).toThrow(/differ from the policy's/);
  });
});

describe("headers required per problem code (review #8)", () => {
  const list = defineCapability({ id: "things.list", method: "GET", path: "/things", scopes: ["things:read"], cost: 1, idempotent: true, paginated: true });
  const post = defineCapability({ id: "things.create", method: "POST", path: "/things", scopes: ["things:write"], cost: 1, credits: 1, idempotent: true, problems: ["key_limit_reached"] });
  const doc: Json = createOpenApiDocument([list, post], opts);
  const rule = (code: string) => doc["components"]["schemas"][`Problem_${code}`]["x-alloovium-headers"];

  it("marks the challenge required on every refusal only authentication answers, and on none other", () => {
    for (const code of ["malformed_authorization", "credential_location_not_allowed", "duplicate_credentials", "missing_credentials", "unsupported_auth_scheme", "invalid_api_key", "api_key_revoked", "token_expired", "insufficient_scope"]) {
      expect(rule(code), code).toEqual({ "WWW-Authenticate": "required" });
    }
    // Key management answers it too, about the key to create, without a challenge.
    expect(rule("environment_mismatch")).toEqual({ "WWW-Authenticate": "optional" });
    expect(rule("invalid_body")).toBeUndefined();
    expect(rule("invalid_cursor")).toBeUndefined();
  });

  it("marks Retry-After required on 429 rate_limited, 409 idempotency_key_in_use and 503, absent on cost_exceeds_capacity and 402", () => {
    for (const code of ["rate_limited", "idempotency_key_in_use", "service_unavailable", "idempotency_unavailable"]) expect(rule(code), code).toEqual({ "Retry-After": "required" });
    expect(rule("cost_exceeds_capacity")).toEqual({ "Retry-After": "absent" });
    expect(rule("insufficient_credits")).toEqual({ "Retry-After": "absent" });
  });

  it("makes a response header required where every code of the status requires it", () => {
    const r = doc["paths"]["/things"]["post"]["responses"];
    expect(r["401"].headers["WWW-Authenticate"].required).toBe(true);
    expect(r["403"].headers["WWW-Authenticate"].required).toBe(false); // environment_mismatch may come from a handler
    expect(r["400"].headers["WWW-Authenticate"].required).toBe(false); // invalid_body carries none
    expect(r["503"].headers["Retry-After"].required).toBe(true);
    expect(r["429"].headers["Retry-After"].required).toBe(false); // cost_exceeds_capacity carries none
    expect(r["409"].headers["Retry-After"].required).toBe(false); // key_limit_reached carries none
    expect(r["402"].headers?.["Retry-After"]).toBeUndefined();
    const me = createOpenApiDocument([defineCapability({ id: "meta.whoami", method: "GET", path: "/me", cost: 1, idempotent: true })], opts) as Json;
    expect(me["paths"]["/me"]["get"]["responses"]["403"].headers["WWW-Authenticate"].required).toBe(false); // environment_mismatch alone: described, optional
  });
});

describe("capability objects made by hand (review #10)", () => {
  it("documents a capability object without schemas, as the gate serves it", () => {
    const made = { id: "things.ping", method: "GET", path: "/ping", scopes: [], cost: 1, credits: 0, idempotent: true, requireIdempotencyKey: false, omitFromReplay: [], routePath: "/ping", params: [], responses: {}, problems: [], paginated: false } as unknown as Capability;
    const doc: Json = createOpenApiDocument([made], opts);
    expect(doc["paths"]["/ping"]["get"]["operationId"]).toBe("things.ping");
  });

  it("keeps whether a body is optional out of the exported Capability", () => {
    const c = defineCapability({ id: "things.put", method: "PUT", path: "/things", cost: 1, idempotent: true, body: z.object({ a: z.string() }).optional() });
    expect(Object.keys(c.schemas)).toEqual(["body"]);
    const doc: Json = createOpenApiDocument([c], opts);
    expect(doc["paths"]["/things"]["put"]["requestBody"]["required"]).toBe(false);
  });
});

import { readFileSync } from "node:fs";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineCapabilities, defineCapability } from "../capabilities";
import { createOpenApiDocument } from "./index";
import { createProject, document, handle } from "./readme-example";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const statuses = (op: Json) => Object.keys(op["responses"]).sort();
const codesAt = (doc: Json, op: Json, status: number): string[] => {
  const schema = op["responses"][String(status)]["content"]["application/problem+json"]["schema"];
  const refs: Json[] = schema.oneOf ?? [schema];
  return refs.map((r) => doc["components"]["schemas"][r["$ref"].split("/").pop()]["properties"]["code"]["const"]);
};

describe("the README example", () => {
  it("is quoted in the README verbatim", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme).toContain(readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8").trim());
  });

  it("documents the capability: operationId, cost, credits, body schema, Idempotency-Key, exactly its problems", () => {
    const op = (document as Json)["paths"]["/api/v2/vault/projects"]["post"];
    expect(op).toMatchObject({ operationId: "vault.projects.create", "x-alloovium-cost": 2, "x-alloovium-credits": 2, tags: ["vault"], security: [{ apiKey: [] }] });
    expect(op.requestBody).toEqual({
      required: true,
      content: { "application/json": { schema: { type: "object", properties: { name: { type: "string", minLength: 1, maxLength: 200 }, project_type: { type: "string", enum: ["commercial", "residential"] } }, required: ["name", "project_type"] } } },
    });
    expect(op.parameters).toEqual([{ $ref: "#/components/parameters/IdempotencyKey" }]);
    // 402: credits > 0; 409 and 422: the honoured key; no 404: no path parameter.
    expect(statuses(op)).toEqual(["201", "400", "401", "402", "403", "409", "413", "415", "422", "429", "431", "500", "503"]);
    expect(codesAt(document, op, 422)).toEqual(["idempotency_key_reused", "validation_failed"]);
    expect(codesAt(document, op, 400)).toEqual(["malformed_authorization", "credential_location_not_allowed", "duplicate_credentials", "invalid_idempotency_key", "malformed_request", "invalid_body"]);
    expect(op.responses["201"].headers.RateLimit.required).toBe(true);
    expect(op.responses["429"].headers["Retry-After"]).toBeDefined();
    expect(op.responses["401"].headers["WWW-Authenticate"].required).toBe(true);
    expect(op.responses["500"].headers).toBeUndefined(); // RateLimit on 2xx and 4xx only
    expect(Object.keys((document as Json)["components"]["securitySchemes"])).toEqual(["apiKey"]);
  });

  it("hands the handler the typed body", () => {
    const input = { params: {}, query: {}, body: { name: "Tower", project_type: "commercial" } };
    expect(handle({ input } as never)).toMatchObject({ status: 201, body: { name: "Tower" } });
    expect((document as Json)["paths"]["/api/v2/vault/projects"]["post"].requestBody.required).toBe(true);
  });
});

describe("createOpenApiDocument", () => {
  const item = z.object({ id: z.string() });
  const list = defineCapability({ id: "things.list", method: "GET", path: "/things", scopes: ["things:read"], cost: 1, idempotent: true, paginated: true, responses: { 200: { description: "A page.", schema: item } } });
  const get = defineCapability({ id: "things.get", method: "GET", path: "/things/{id}", scopes: ["things:read"], cost: 1, idempotent: true, problems: ["key_limit_reached"] });
  const put = defineCapability({ id: "things.put", method: "PATCH", path: "/things/{id}", cost: 1, idempotent: true, requireIdempotencyKey: true, body: z.object({ a: z.string() }).optional() });
  const doc: Json = createOpenApiDocument(defineCapabilities([list, get, put]), { title: "T", version: "1", oauth: { tokenUrl: "https://auth.example.test/token", scopes: { "things:read": "Read things." } } });

  it("writes one operation per capability and nothing else", () => {
    expect(Object.keys(doc["paths"])).toEqual(["/things", "/things/{id}"]);
    expect(Object.keys(doc["paths"]["/things/{id}"])).toEqual(["get", "patch"]);
  });

  it("wraps a paginated 200 in the envelope, with limit and cursor and their 400s", () => {
    const op = doc["paths"]["/things"]["get"];
    expect(op.parameters).toEqual([{ $ref: "#/components/parameters/Limit" }, { $ref: "#/components/parameters/Cursor" }]);
    const schema = op.responses["200"].content["application/json"].schema;
    expect(schema.required).toEqual(["data", "next_cursor", "has_more"]);
    expect(schema.properties.data.items).toMatchObject({ type: "object", properties: { id: { type: "string" } } });
    expect(codesAt(doc, op, 400)).toEqual(expect.arrayContaining(["invalid_parameter", "invalid_cursor"]));
    expect(statuses(op)).not.toContain("402");
    expect(statuses(op)).not.toContain("415");
    expect(op.security).toEqual([{ apiKey: [] }, { oauth2: ["things:read"] }]);
  });

  it("lists the handler's own problems, 404 on a path with parameters, and a required Idempotency-Key", () => {
    const get = doc["paths"]["/things/{id}"]["get"];
    expect(codesAt(doc, get, 404)).toEqual(["not_found"]);
    expect(codesAt(doc, get, 409)).toEqual(["key_limit_reached"]);
    expect(get.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string", maxLength: 200 } }]);
    const patch = doc["paths"]["/things/{id}"]["patch"];
    expect(patch.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKeyRequired" });
    expect(doc["components"]["parameters"]["IdempotencyKeyRequired"].required).toBe(true);
    expect(codesAt(doc, patch, 400)).toContain("idempotency_key_required");
    expect(patch.requestBody.required).toBe(false);
  });

  it("describes each code with the shared Problem and its own members, nothing else", () => {
    expect(doc["components"]["schemas"]["Problem_insufficient_scope"]).toMatchObject({
      allOf: [{ $ref: "#/components/schemas/Problem" }],
      properties: { code: { const: "insufficient_scope" }, status: { const: 403 }, type: { const: "https://api.alloovium.com/errors/insufficient_scope" }, missing_scopes: { type: "array" } },
      required: ["missing_scopes"],
      unevaluatedProperties: false,
    });
    expect(doc["components"]["securitySchemes"]["oauth2"].flows.clientCredentials).toEqual({ tokenUrl: "https://auth.example.test/token", scopes: { "things:read": "Read things." } });
  });

  it("throws naming the capability for a request schema without a JSON Schema", () => {
    const bare: StandardSchemaV1 = { "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) } };
    const cap = defineCapability({ id: "bare.create", method: "POST", path: "/bare", cost: 1, idempotent: true, body: bare });
    expect(() => createOpenApiDocument([cap], { title: "T", version: "1" })).toThrow(/capability "bare.create": body: the schema carries no JSON Schema/);
    expect(() => createOpenApiDocument([cap], {} as never)).toThrow(/`title` and `version`/);
  });
});

import { defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alloovium } from "./index";

const create = defineCapability({ id: "things.create", method: "POST", path: "/api/things", cost: 1, idempotent: true });

describe("@alloovium/fastify: Fastify specifics", () => {
  const t = createTestPolicy();
  let app: FastifyInstance;
  let key: string;

  beforeAll(async () => {
    key = (await t.mintKey()).key;
    const a = alloovium({ policy: t.policy, capabilities: defineCapabilities([create]) });
    app = Fastify({ frameworkErrors: a.frameworkErrors });
    // The policy in an encapsulated scope; a route outside it keeps Fastify's own JSON parser.
    await app.register(async (api) => {
      await api.register(a.plugin);
      api.post(create.routePath, { config: { capability: create } }, async (request, reply) => reply.code(201).send({ got: request.body }));
      api.post("/api/open", async (request) => ({ got: request.body ?? null }));
    });
    app.post("/legacy", async (request) => ({ parsed: request.body }));
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (url: string, headers: Record<string, string>, payload: string) => app.inject({ method: "POST", url, headers, payload });

  it("answers a Content-Type Fastify cannot read as the gate does: the credential check first, then 415", async () => {
    const auth = { authorization: `Bearer ${key}` };
    const refused = await post(create.routePath, { ...auth, "content-type": "a;;b" }, "{}");
    expect(refused.statusCode).toBe(415);
    expect(refused.headers["content-type"]).toBe("application/problem+json");
    expect(refused.json()).toMatchObject({ code: "unsupported_media_type" });
    const exposed = await post(create.routePath, { ...auth, "content-type": "a;;b", "x-api-key": key }, "{}");
    expect(exposed.statusCode).toBe(400);
    expect(exposed.json()).toMatchObject({ code: "credential_location_not_allowed", location: "header" });
    const screened = await post("/api/open", { "content-type": "a;;b" }, "{}");
    expect(screened.statusCode).toBe(415);
    expect(screened.json()).toMatchObject({ code: "unsupported_media_type" });
  });

  it("reads the body once in its scope (the JSON as parsed, on request.body) and leaves routes outside it to Fastify", async () => {
    const ok = await post(create.routePath, { authorization: `Bearer ${key}`, "content-type": "application/json" }, '{"a":1}');
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toEqual({ got: { a: 1 } });
    const open = await post("/api/open", { "content-type": "application/json" }, '{"b":2}');
    expect(open.json()).toEqual({ got: { b: 2 } });
    const legacy = await post("/legacy", { "content-type": "application/json" }, '{"c":3}');
    expect(legacy.statusCode).toBe(200);
    expect(legacy.json()).toEqual({ parsed: { c: 3 } }); // Fastify's own parser, not the plugin's bytes
  });
});

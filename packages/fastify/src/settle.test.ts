import { defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import Fastify, { type FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { alloovium } from "./index";

const create = defineCapability({ id: "things.create", method: "POST", path: "/api/things", cost: 1, credits: 3, idempotent: true });
const me = defineCapability({ id: "me.get", method: "GET", path: "/api/me", cost: 1, idempotent: false });
const capabilities = defineCapabilities([create, me]);

async function setup() {
  const t = createTestPolicy({ creditGrant: 100 });
  const { key, record } = await t.mintKey();
  const a = alloovium({ policy: t.policy, capabilities });
  const app = Fastify({ frameworkErrors: a.frameworkErrors });
  await app.register(a.plugin);
  const balance = async () => (await t.policy.usage(record.tenant_id)).balance;
  const calls = async () => (await t.policy.usage(record.tenant_id)).data.reduce((n, row) => n + row.calls, 0);
  return { t, key, app, balance, calls };
}

describe("@alloovium/fastify: what is stored is what was sent", () => {
  it("a later onSend that throws: the client's 500 refunds and gives the key back, never a stored 201", async () => {
    const { key, app, balance } = await setup();
    let n = 0;
    app.addHook("onSend", async (_request, _reply, payload) => {
      if (n++ === 0) throw new Error("a later onSend failed");
      return payload;
    });
    let runs = 0;
    app.post(create.routePath, { config: { capability: create } }, async (_request, reply) => (runs++, reply.code(201).send({ created: runs })));
    await app.ready();
    const headers = { authorization: `Bearer ${key}`, "idempotency-key": "sent-vs-stored-1" };
    const first = await app.inject({ method: "POST", url: create.routePath, headers });
    expect(first.statusCode).toBe(500);
    expect(await balance()).toBe(100);
    const retry = await app.inject({ method: "POST", url: create.routePath, headers });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(retry.json()).toEqual({ created: 2 });
    await app.close();
  });

  it("a later onSend that changes the payload: the replay is the changed payload, as sent", async () => {
    const { key, app } = await setup();
    app.addHook("onSend", async (_request, _reply, payload) => (typeof payload === "string" ? payload.replace("draft", "final") : payload));
    app.post(create.routePath, { config: { capability: create }, onSend: async (_request, _reply, payload: unknown) => (typeof payload === "string" ? payload.replace("}", ',"route":true}') : payload) }, async (_request, reply) => reply.code(201).send({ state: "draft" }));
    await app.ready();
    const headers = { authorization: `Bearer ${key}`, "idempotency-key": "changed-1" };
    const first = await app.inject({ method: "POST", url: create.routePath, headers });
    expect(first.json()).toEqual({ state: "final", route: true });
    const replay = await app.inject({ method: "POST", url: create.routePath, headers });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toBe(first.body);
    await app.close();
  });

  it("a hijacked reply is settled when it closes: the key is given back (no 409 on retry), nothing stored", async () => {
    const { key, app } = await setup();
    let runs = 0;
    app.post(create.routePath, { config: { capability: create } }, async (_request, reply) => {
      runs++;
      reply.hijack();
      reply.raw.writeHead(201, { "content-type": "application/json" });
      reply.raw.end(JSON.stringify({ hijacked: runs }));
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}${create.routePath}`;
    const post = () => fetch(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "idempotency-key": "hijack-1" } });
    const first = await post();
    expect(first.status).toBe(201);
    await first.text();
    let retry = await post();
    for (let i = 0; i < 50 && retry.status === 409; i++) retry = await (await new Promise((r) => setTimeout(r, 20)), post()); // the close event comes just after the bytes
    expect(retry.status).toBe(201);
    expect(await retry.json()).toEqual({ hijacked: 2 });
    await app.close();
  });
});

describe("@alloovium/fastify: fail closed", () => {
  it("an unreadable Content-Type is screened and refused, never admitted: no key claimed, no call counted", async () => {
    const { key, app, calls } = await setup();
    let runs = 0;
    app.post(create.routePath, { config: { capability: create } }, async (_request, reply) => (runs++, reply.code(201).send({ ok: 1 })));
    await app.ready();
    const headers = { authorization: `Bearer ${key}`, "idempotency-key": "abcdef-1234" };
    const refused = await app.inject({ method: "POST", url: create.routePath, headers: { ...headers, "content-type": "a;;b" } });
    expect(refused.statusCode).toBe(415);
    expect(refused.json()).toMatchObject({ code: "unsupported_media_type" });
    const retry = await app.inject({ method: "POST", url: create.routePath, headers: { ...headers, "content-type": "application/json" } });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBeUndefined();
    expect(runs).toBe(1);
    expect(await calls()).toBe(1);
    await app.close();
  });

  it("refuses to start when a capability's route is outside the plugin's scope", async () => {
    const cases: Record<string, (app: FastifyInstance, plugin: ReturnType<typeof alloovium>["plugin"]) => Promise<void>> = {
      "plugin in a child scope, route at the root": async (app, plugin) => {
        await app.register(async (api: FastifyInstance) => void (await api.register(plugin)));
        app.get(me.routePath, { config: { capability: me } }, async () => ({ open: true }));
      },
      "route before the plugin": async (app, plugin) => {
        app.get(me.routePath, { config: { capability: me } }, async () => ({ open: true }));
        await app.register(plugin);
      },
      "route in a sibling scope": async (app, plugin) => {
        await app.register(async (r: FastifyInstance) => void r.get(me.routePath, { config: { capability: me } }, async () => ({ open: true })));
        await app.register(plugin);
      },
    };
    for (const [name, arrange] of Object.entries(cases)) {
      const t = createTestPolicy();
      const a = alloovium({ policy: t.policy, capabilities });
      const app = Fastify();
      await arrange(app, a.plugin);
      await expect(app.ready(), name).rejects.toThrow(/me\.get .*outside the plugin's scope/);
      await app.close().catch(() => {});
    }
    // In a child of the plugin's scope it is covered.
    const { key, app } = await setup();
    await app.register(async (child) => void child.get(me.routePath, { config: { capability: me } }, async (request) => request.principal));
    await app.ready();
    expect((await app.inject({ method: "GET", url: me.routePath })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: me.routePath, headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    await app.close();
  });

  it("starts when a capability's route names its path parameter otherwise than the capability does", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey();
    const item = defineCapability({ id: "items.get", method: "GET", path: "/items/{id}", cost: 1, idempotent: false });
    const a = alloovium({ policy: t.policy, capabilities: defineCapabilities([me, item]) });
    const app = Fastify();
    await app.register(a.plugin);
    app.get("/items/:itemId", { config: { capability: item } }, async () => ({ ok: true }));
    await app.ready();
    expect((await app.inject({ method: "GET", url: "/items/7" })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/items/7", headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    await app.close();
  });
});

describe("@alloovium/fastify: a content-type parser the app adds in the plugin's scope", () => {
  it("leaves its value to the route, screens the request without reading the stream, and keeps capability bodies the policy's", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey();
    const a = alloovium({ policy: t.policy, capabilities, bodyLimitBytes: 1000 });
    const app = Fastify();
    await app.register(a.plugin);
    app.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));
    app.post("/upload", async (request) => {
      let bytes = 0;
      for await (const chunk of request.body as AsyncIterable<Buffer>) bytes += chunk.length;
      return { bytes };
    });
    app.post(create.routePath, { config: { capability: create } }, async (_request, reply) => reply.code(201).send({ ran: true }));
    await app.ready();
    const octets = { "content-type": "application/octet-stream" };
    for (const size of [500, 5000]) {
      const r = await app.inject({ method: "POST", url: "/upload", headers: octets, payload: Buffer.alloc(size) });
      expect(r.statusCode, `${size} bytes`).toBe(200);
      expect(r.json()).toEqual({ bytes: size });
    }
    const exposed = await app.inject({ method: "POST", url: "/upload?api_key=" + key, headers: octets, payload: Buffer.alloc(10) });
    expect(exposed.statusCode).toBe(400);
    expect(exposed.json()).toMatchObject({ code: "credential_location_not_allowed" });
    const capability = await app.inject({ method: "POST", url: create.routePath, headers: { ...octets, authorization: `Bearer ${key}` }, payload: Buffer.alloc(10) });
    expect(capability.statusCode).toBe(415);
    expect(capability.json()).toMatchObject({ code: "unsupported_media_type" });
    await app.close();
  });
});

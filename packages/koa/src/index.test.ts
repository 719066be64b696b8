import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { ProblemError, defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import Router from "@koa/router";
import Koa from "koa";
import { describe, expect, it } from "vitest";
import { alloovium, type AllooviumState } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

// The shared adapter suite (packages/core/src/conformance/adapter.ts) over this framework's app.
adapterConformance("@alloovium/koa", async (policy, capabilities, bodyLimitBytes) => {
  let creates = 0;
  let flakyRuns = 0;
  const a = alloovium({ policy, capabilities, bodyLimitBytes });
  const app = new Koa();
  app.silent = true; // the thrown test error is expected
  const router = new Router<AllooviumState>({ strict: true, sensitive: true });
  router.get(whoami.routePath, a.route(whoami), (ctx) => {
    ctx.body = ctx.state.principal;
  });
  router.post(create.routePath, a.route(create), (ctx) => {
    creates++;
    if (ctx.state.policyRequest.rawBody !== undefined) throw new ProblemError("invalid_body", "Not JSON.");
    ctx.status = 201;
    ctx.set("Location", `/things/${creates}`);
    ctx.body = { n: creates, got: (ctx.request as { body?: unknown }).body };
  });
  const later = async (ctx: { params: Record<string, string> }, next: () => Promise<void>) => {
    if (ctx.params["id"] === "later") throw new Error("secret detail");
    await next();
  };
  router.post(flaky.routePath, a.route(flaky), later, async (ctx) => {
    flakyRuns++;
    if (ctx.params["id"] === "boom" && flakyRuns === 1) throw new Error("secret detail");
    if (ctx.params["id"] === "throw") throw new Error("secret detail");
    ctx.status = ctx.params["id"] === "unavailable" ? 503 : 200;
    ctx.body = { runs: flakyRuns };
  });
  router.get("/open", a.screen, (ctx) => {
    ctx.body = { got: (ctx.request as { body?: unknown }).body ?? null };
  });
  router.get("/plain-boom", () => {
    throw new Error("outside any capability");
  });
  app.use(a.errorHandler).use(router.routes()).use(a.notFound);
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});

describe("@alloovium/koa: streamed bodies", () => {
  it("keeps the credits of a streamed answer and releases its Idempotency-Key, so a retry runs", async () => {
    const stream = defineCapability({ id: "things.export", method: "POST", path: "/export", cost: 1, credits: 5, idempotent: true });
    const t = createTestPolicy({ creditGrant: 10 });
    const { key, record } = await t.mintKey();
    const a = alloovium({ policy: t.policy, capabilities: defineCapabilities([stream]) });
    let runs = 0;
    const app = new Koa();
    const router = new Router<AllooviumState>();
    router.post(stream.routePath, a.route(stream), (ctx) => {
      runs++;
      ctx.body = Readable.from(["a,b\n", "1,2\n"]);
    });
    app.use(a.errorHandler).use(router.routes());
    const server = createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/export`;
      const send = () => fetch(url, { method: "POST", headers: { authorization: `Bearer ${key}`, "idempotency-key": "export-1" } });
      const first = await send();
      expect(await first.text()).toBe("a,b\n1,2\n");
      expect(first.headers.get("ratelimit")).toContain('"credits";r=5');
      expect(await t.credits!.balance(record.tenant_id, 10)).toBe(5);
      const again = await send(); // not stored: runs again (and pays again)
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      expect(runs).toBe(2);
      expect(await t.credits!.balance(record.tenant_id, 10)).toBe(0);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

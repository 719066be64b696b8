import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ProblemError } from "@alloovium/core";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import Router from "@koa/router";
import Koa from "koa";
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
  router.post(flaky.routePath, a.route(flaky), async (ctx) => {
    flakyRuns++;
    if (ctx.params["id"] === "boom" && flakyRuns === 1) throw new Error("secret detail");
    if (ctx.params["id"] === "throw") throw new Error("secret detail");
    ctx.status = ctx.params["id"] === "unavailable" ? 503 : 200;
    ctx.body = { runs: flakyRuns };
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

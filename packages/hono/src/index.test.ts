import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ProblemError } from "@alloovium/core";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { alloovium, type AllooviumEnv } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

// The shared adapter suite (packages/core/src/conformance/adapter.ts) over this framework's app.
adapterConformance("@alloovium/hono", async (policy, capabilities, bodyLimitBytes) => {
  let creates = 0;
  let flakyRuns = 0;
  const a = alloovium({ policy, capabilities, bodyLimitBytes });
  const app = new Hono<AllooviumEnv>();
  app.get(whoami.routePath, a.route(whoami), (c) => c.json(c.get("principal")));
  app.post(create.routePath, a.route(create), async (c) => {
    creates++;
    const { rawBody } = c.get("policyRequest");
    if (rawBody !== undefined) throw new ProblemError("invalid_body", "Not JSON.");
    return c.json({ n: creates, got: await c.req.json() }, 201, { location: `/things/${creates}` });
  });
  app.post(flaky.routePath, a.route(flaky), (c) => {
    flakyRuns++;
    if (c.req.param("id") === "boom" && flakyRuns === 1) throw new Error("secret detail");
    return c.json({ runs: flakyRuns }, 200);
  });
  app.get("/plain-boom", () => {
    throw new Error("outside any capability");
  });
  app.notFound(a.notFound);
  app.onError(a.onError);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});

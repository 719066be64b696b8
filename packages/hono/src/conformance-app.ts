// The adapter conformance suite's app (packages/core/src/conformance/adapter.ts), shared by
// the suite's runs on @hono/node-server, on app.fetch in Node (index.test.ts) and on Bun and Deno
// (runtime-conformance.ts). Not part of the package.
import { ProblemError, type CapabilitySet, type Policy } from "@alloovium/core";
import { adapterSuiteCapabilities } from "@alloovium/core/conformance";
import { Hono } from "hono";
import { alloovium, type AllooviumEnv } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

/** The suite's app (see `AdapterHarness` in packages/core/src/conformance/adapter.ts). */
export function harnessApp(policy: Policy, capabilities: CapabilitySet, bodyLimitBytes: number): Hono<AllooviumEnv> {
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
  app.post(flaky.routePath, a.route(flaky), async (c, next) => {
    if (c.req.param("id") === "later") throw new Error("secret detail"); // a later middleware
    await next();
  }, (c) => {
    flakyRuns++;
    if (c.req.param("id") === "boom" && flakyRuns === 1) throw new Error("secret detail");
    if (c.req.param("id") === "throw") throw new Error("secret detail");
    return c.json({ runs: flakyRuns }, c.req.param("id") === "unavailable" ? 503 : 200);
  });
  app.on(["GET", "POST"], "/open", a.screen, async (c) => c.json({ got: c.get("policyRequest").body === undefined ? null : await c.req.json() }));
  app.get("/plain-boom", () => {
    throw new Error("outside any capability");
  });
  app.notFound(a.notFound);
  app.onError(a.onError);
  return app;
}


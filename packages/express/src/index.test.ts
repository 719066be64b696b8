import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ProblemError } from "@alloovium/core";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import express from "express";
import { alloovium, type AllooviumResponse } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

// The shared adapter suite (packages/core/src/conformance/adapter.ts) over this framework's app.
adapterConformance("@alloovium/express", async (policy, capabilities, bodyLimitBytes) => {
  let creates = 0;
  let flakyRuns = 0;
  const a = alloovium({ policy, capabilities, bodyLimitBytes });
  const app = express();
  app.enable("strict routing");
  app.enable("case sensitive routing");
  app.get(whoami.routePath, a.route(whoami), (_req, res: AllooviumResponse) => {
    res.json(res.locals.principal);
  });
  app.post(create.routePath, a.route(create), (req, res: AllooviumResponse) => {
    creates++;
    if (res.locals.policyRequest.rawBody !== undefined) throw new ProblemError("invalid_body", "Not JSON.");
    res.status(201).location(`/things/${creates}`).json({ n: creates, got: req.body as unknown });
  });
  const later: express.RequestHandler = (req, _res, next) => next(req.params["id"] === "later" ? new Error("secret detail") : undefined);
  app.post(flaky.routePath, a.route(flaky), later, async (req, res) => {
    flakyRuns++;
    if (req.params["id"] === "boom" && flakyRuns === 1) throw new Error("secret detail");
    if (req.params["id"] === "throw") throw new Error("secret detail");
    res.status(req.params["id"] === "unavailable" ? 503 : 200).json({ runs: flakyRuns });
  });
  app.get("/open", a.screen, (req, res) => {
    res.json({ got: (req.body as unknown) ?? null });
  });
  app.get("/plain-boom", () => {
    throw new Error("outside any capability");
  });
  app.use(a.notFound, a.errorHandler);
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});

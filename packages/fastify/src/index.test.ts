import type { AddressInfo } from "node:net";
import { ProblemError } from "@alloovium/core";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import Fastify from "fastify";
import { alloovium } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

// The shared adapter suite (packages/core/src/conformance/adapter.ts) over this framework's app.
adapterConformance("@alloovium/fastify", async (policy, capabilities, bodyLimitBytes) => {
  let creates = 0;
  let flakyRuns = 0;
  const a = alloovium({ policy, capabilities, bodyLimitBytes });
  const app = Fastify({ frameworkErrors: a.frameworkErrors });
  await app.register(a.plugin);
  app.get(whoami.routePath, { config: { capability: whoami } }, async (request) => request.principal);
  app.post(create.routePath, { config: { capability: create } }, async (request, reply) => {
    creates++;
    if (request.policyRequest.rawBody !== undefined) throw new ProblemError("invalid_body", "Not JSON.");
    return reply.code(201).header("location", `/things/${creates}`).send({ n: creates, got: request.body });
  });
  const later = async (request: { params: { id: string } }) => {
    if (request.params.id === "later") throw new Error("secret detail"); // a route hook after the plugin's
  };
  app.post<{ Params: { id: string } }>(flaky.routePath, { config: { capability: flaky }, preHandler: later }, async (request, reply) => {
    flakyRuns++;
    if (request.params.id === "boom" && flakyRuns === 1) throw new Error("secret detail");
    if (request.params.id === "throw") throw new Error("secret detail");
    return reply.code(request.params.id === "unavailable" ? 503 : 200).send({ runs: flakyRuns });
  });
  app.get("/open", async (request) => ({ got: request.body ?? null }));
  app.get("/plain-boom", async () => {
    throw new Error("outside any capability");
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
});

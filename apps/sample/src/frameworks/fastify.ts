import { createServer, type RequestListener } from "node:http";
import { isProblemError } from "@alloovium/core";
import { alloovium } from "@alloovium/fastify";
import Fastify, { type HTTPMethods } from "fastify";
import { HEALTH, JSON_TYPE, type BuildApp, readOnlyRefusal, routeOf } from "./types";

/** The v2 surface on Fastify. */
export const buildFastifyApp: BuildApp = async ({ policy, capabilities, routes, statics, bodyLimitBytes, log }) => {
  const a = alloovium({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) });
  let listener: RequestListener | undefined;
  // startServer owns the HTTP server: Fastify's own (from serverFactory) never listens.
  const app = Fastify({
    frameworkErrors: a.frameworkErrors,
    // A path parameter as long as the request line allows (Fastify's default is 100), as on the other frameworks.
    routerOptions: { maxParamLength: 16_384 },
    serverFactory: (handler) => ((listener = handler), createServer()),
  });
  await app.register(a.plugin); // every route below is either a capability's or screened
  app.addHook("onError", async (request, _reply, error) => {
    if (!isProblemError(error) && !error.code?.startsWith("FST_ERR_CTP_")) log(`error: ${error instanceof Error ? error.name : "unknown"} in ${request.method} ${routeOf(request.routeOptions.url)}`);
  });
  // Strict and case-sensitive by default, as capability paths match: /api/v2/me/ and /API/V2/ME are 404.
  app.get("/healthz", (_request, reply) => reply.header("content-type", JSON_TYPE).send(Buffer.from(JSON.stringify(HEALTH))));
  for (const asset of statics) app.get(asset.path, (_request, reply) => reply.headers(asset.headers).send(asset.body));
  // Another method on these pages: 405 with Allow, after the same screen.
  const refusal = readOnlyRefusal(policy);
  const others = app.supportedMethods.filter((m) => m !== "GET" && m !== "HEAD") as HTTPMethods[];
  for (const path of ["/healthz", ...statics.map((s) => s.path)]) {
    app.route({ method: others, url: path, handler: (_request, reply) => reply.code(refusal.status).headers(refusal.headers).send(Buffer.from(refusal.body)) });
  }
  for (const { capability, handle } of routes) {
    app.route({
      method: capability.method,
      url: capability.routePath,
      config: { capability },
      handler: async (request, reply) => {
        const policyRequest = request.policyRequest;
        const result = await handle({
          principal: request.principal,
          params: request.params as Record<string, string>,
          query: policyRequest.query ?? "",
          input: request.input,
          body: policyRequest.body,
          ...(policyRequest.rawBody === undefined ? {} : { rawBody: policyRequest.rawBody }),
        });
        reply.code(result.status);
        if (result.headers) reply.headers(result.headers);
        // As bytes: Fastify would add `; charset=utf-8` to a JSON string.
        return result.body === undefined ? reply.send() : reply.header("content-type", JSON_TYPE).send(Buffer.from(JSON.stringify(result.body)));
      },
    });
  }
  await app.ready();
  return listener!;
};

import { isProblemError } from "@alloovium/core";
import { alloovium, type AllooviumResponse } from "@alloovium/express";
import express from "express";
import { HEALTH, JSON_TYPE, type BuildApp, readOnlyRefusal, routeOf } from "./types";

/** The v2 surface on Express. */
export const buildExpressApp: BuildApp = ({ policy, capabilities, routes, statics, bodyLimitBytes, log }) => {
  const a = alloovium({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) });
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag"); // the same headers on every framework
  // Strict and case-sensitive, as capability paths match: /api/v2/me/ and /API/V2/ME are 404.
  app.enable("strict routing");
  app.enable("case sensitive routing");
  // Outside the policy, but screened like every route: a credential in the query, a cookie, a header or the body is 400.
  app.get("/healthz", a.screen, (_req, res) => {
    res.setHeader("content-type", JSON_TYPE).end(JSON.stringify(HEALTH));
  });
  for (const asset of statics) {
    app.get(asset.path, a.screen, (_req, res) => {
      for (const [name, value] of Object.entries(asset.headers)) res.setHeader(name, value);
      res.end(asset.body);
    });
  }
  // Another method on these pages: 405 with Allow, after the same screen.
  const refusal = readOnlyRefusal(policy);
  for (const path of ["/healthz", ...statics.map((s) => s.path)]) {
    app.all(path, a.screen, (_req, res) => {
      for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
      res.status(refusal.status).end(refusal.body);
    });
  }
  for (const { capability, handle } of routes) {
    const method = capability.method.toLowerCase() as "get" | "post" | "patch" | "delete";
    app[method](capability.routePath, a.route(capability), async (req, res: AllooviumResponse) => {
      const request = res.locals.policyRequest;
      const result = await handle({
        principal: res.locals.principal,
        params: req.params as Record<string, string>,
        query: request.query ?? "",
        input: res.locals.input,
        body: request.body,
        ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
      });
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      if (result.body === undefined) res.status(result.status).end();
      else res.status(result.status).setHeader("content-type", JSON_TYPE).end(JSON.stringify(result.body));
    });
  }
  app.use(a.notFound);
  app.use(((error, req, res, next) => {
    // A path the router could not decode (`/%ZZ`) is the client's error, answered 404 by errorHandler.
    const clientPath = error instanceof URIError && (error as { status?: unknown }).status === 400;
    if (!isProblemError(error) && !clientPath) log(`error: ${error instanceof Error ? error.name : "unknown"} in ${req.method} ${routeOf((req.route as { path?: unknown } | undefined)?.path)}`);
    a.errorHandler(error, req, res, next);
  }) satisfies express.ErrorRequestHandler);
  return app;
};

import { isProblemError } from "@alloovium/core";
import { getRequestListener } from "@hono/node-server";
import { alloovium, type AllooviumEnv } from "@alloovium/hono";
import { Hono } from "hono";
import { HEALTH, type BuildApp, routeOf } from "./types";

/** The v2 surface on Hono. */
export const buildHonoApp: BuildApp = ({ policy, capabilities, routes, statics, bodyLimitBytes, log }) => {
  const a = alloovium({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) });
  const app = new Hono<AllooviumEnv>();
  app.get("/healthz", (c) => c.json(HEALTH));
  for (const asset of statics) app.get(asset.path, () => new Response(asset.body, { headers: asset.headers }));
  for (const { capability, handle } of routes) {
    app.on(capability.method, capability.routePath, a.route(capability), async (c) => {
      const request = c.get("policyRequest");
      const result = await handle({
        principal: c.get("principal"),
        params: c.req.param(),
        query: request.query ?? "",
        body: request.body,
        ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
      });
      if (result.body === undefined) return new Response(null, { status: result.status, ...(result.headers ? { headers: result.headers } : {}) });
      return c.json(result.body, result.status as 200, result.headers);
    });
  }
  app.notFound(a.notFound);
  app.onError((error, c) => {
    if (!isProblemError(error)) log(`error: ${error instanceof Error ? error.name : "unknown"} in ${c.req.method} ${routeOf(c.req.routePath)}`);
    return a.onError(error, c);
  });
  return getRequestListener(app.fetch);
};

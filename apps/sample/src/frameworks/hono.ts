import { isProblemError, policyError } from "@alloovium/core";
import { getRequestListener } from "@hono/node-server";
import { alloovium, type AllooviumEnv } from "@alloovium/hono";
import { Hono } from "hono";
import { currentRuntime } from "../runtimes";
import { HEALTH, type BuildApp, readOnlyRefusal, routeOf } from "./types";

/** The v2 surface on Hono. */
export const buildHonoApp: BuildApp = ({ policy, capabilities, routes, statics, bodyLimitBytes, log }) => {
  const a = alloovium({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) });
  const app = new Hono<AllooviumEnv>();
  // Outside the policy, but screened like every route: a credential in the query, a cookie, a header or the body is 400.
  app.get("/healthz", a.screen, (c) => c.json(HEALTH));
  for (const asset of statics) app.get(asset.path, a.screen, () => new Response(asset.body, { headers: asset.headers }));
  // Another method on these pages: 405 with Allow, after the same screen.
  const refusal = readOnlyRefusal(policy);
  for (const path of ["/healthz", ...statics.map((s) => s.path)]) {
    app.all(path, a.screen, () => new Response(refusal.body, { status: refusal.status, headers: refusal.headers }));
  }
  for (const { capability, handle } of routes) {
    app.on(capability.method, capability.routePath, a.route(capability), async (c) => {
      const request = c.get("policyRequest");
      const result = await handle({
        principal: c.get("principal"),
        params: c.req.param(),
        query: request.query ?? "",
        input: c.get("input"),
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
  // @hono/node-server answers a request it cannot turn into a Request (an unreadable target or
  // Host) with a bare 400: a problem instead, closing the connection as every malformed_request.
  // `hostname` names the URL of an HTTP/1.0 request without Host, served as on Express and Koa.
  const listener = getRequestListener(app.fetch, {
    hostname: "localhost",
    // Its lightweight Request and Response stand in for the globals on Node only: Bun.serve and
    // Deno.serve take their own Response, nothing else.
    overrideGlobalObjects: currentRuntime() === "node",
    errorHandler: (error) => {
      const unreadable = error instanceof Error && error.name === "RequestError";
      if (!unreadable) log(`error: ${error instanceof Error ? error.name : "unknown"} before routing`);
      const { response } = policy.reject(
        unreadable
          ? policyError("malformed_request", "The request target or Host header cannot be read.")
          : policyError("internal_error", "The server failed to complete the request."),
      );
      return new Response(response.body, { status: response.status, headers: unreadable ? { ...response.headers, connection: "close" } : response.headers });
    },
  });
  // On Bun and Deno: `Bun.serve({ fetch })`, `Deno.serve(fetch)` (src/runtimes.ts).
  return Object.assign(listener, { fetch: app.fetch });
};

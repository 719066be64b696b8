import { alloovium, type AllooviumState } from "@alloovium/koa";
import Router from "@koa/router";
import Koa from "koa";
import { HEALTH, JSON_TYPE, type BuildApp, readOnlyRefusal, routeOf } from "./types";

/** The v2 surface on Koa. */
export const buildKoaApp: BuildApp = ({ policy, capabilities, routes, statics, bodyLimitBytes, log }) => {
  const a = alloovium({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) });
  const app = new Koa();
  app.on("error", (error: unknown, ctx?: Koa.Context) => log(`error: ${error instanceof Error ? error.name : "unknown"} in ${ctx?.method ?? "?"} ${routeOf((ctx as { _matchedRoute?: unknown } | undefined)?._matchedRoute)}`));
  app.use(a.errorHandler);
  // Strict and case-sensitive, as capability paths match: /api/v2/me/ and /API/V2/ME are 404.
  const router = new Router<AllooviumState>({ strict: true, sensitive: true });
  // Outside the policy, but screened like every route: a credential in the query, a cookie, a header or the body is 400.
  router.get("/healthz", a.screen, (ctx) => {
    ctx.set("Content-Type", JSON_TYPE);
    ctx.body = JSON.stringify(HEALTH);
  });
  for (const asset of statics) {
    router.get(asset.path, a.screen, (ctx) => {
      ctx.set(asset.headers);
      ctx.body = asset.body;
    });
  }
  // Another method on these pages: 405 with Allow, after the same screen.
  const refusal = readOnlyRefusal(policy);
  for (const path of ["/healthz", ...statics.map((s) => s.path)]) {
    router.all(path, a.screen, (ctx) => {
      ctx.status = refusal.status;
      ctx.set(refusal.headers);
      ctx.body = refusal.body;
    });
  }
  for (const { capability, handle } of routes) {
    router.register(capability.routePath, [capability.method], [
      a.route(capability),
      async (ctx) => {
        const request = ctx.state.policyRequest;
        const result = await handle({
          principal: ctx.state.principal,
          params: ctx.params,
          query: request.query ?? "",
          input: ctx.state.input,
          body: request.body,
          ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
        });
        ctx.status = result.status;
        if (result.headers) ctx.set(result.headers);
        if (result.body === undefined) ctx.body = null;
        else {
          ctx.set("Content-Type", JSON_TYPE); // Koa's ctx.type would add a charset
          ctx.body = JSON.stringify(result.body);
        }
      },
    ]);
  }
  app.use(router.routes()).use(a.notFound);
  return app.callback();
};

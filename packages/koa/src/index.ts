import { createHttpGate, incomingFromNode, isProblemError, type Capability, type ContinueDecision, type HttpGate, type HttpGateOptions, type PolicyContext, type WireResponse } from "@alloovium/core";
import type { Context, DefaultState, Middleware } from "koa";

/** What a policy route puts in `ctx.state` (`body` also on `ctx.request.body`). */
export interface AllooviumState extends DefaultState, PolicyContext {}

/** Options of `alloovium`: the gate's (policy, body cap, capabilities for 404/405). */
export type AllooviumOptions = HttpGateOptions;

/** The Koa binding of a policy. */
export interface AllooviumKoa {
  readonly gate: HttpGate;
  /** Middleware for one capability's route: `router.get(cap.routePath, a.route(cap), handler)`. */
  route(capability: Capability): Middleware<AllooviumState>;
  /**
   * Middleware for a route outside the policy (a health check, static files): a credential
   * anywhere but the Authorization header (query, cookies, headers, body) is 400
   * `credential_location_not_allowed`, as on every route; the body is read (with the cap) to
   * be scanned, and passed on in `ctx.request.body` and `ctx.state.policyRequest`.
   * @example router.get("/healthz", a.screen, (ctx) => { ctx.body = { status: "ok" }; });
   */
  readonly screen: Middleware;
  /** `app.use(a.notFound)` after the router: problems for unknown routes and methods, after the same screen. */
  readonly notFound: Middleware;
  /** `app.use(a.errorHandler)` first: errors thrown outside policy routes as problems (no stack). */
  readonly errorHandler: Middleware;
}

function write(ctx: Context, r: WireResponse): void {
  ctx.status = r.status;
  ctx.set(r.headers); // Content-Type first, so that Koa does not guess one from the body
  ctx.body = r.body;
}

/** The request as the gate reads it: the body from the stream, or as a body parser that ran first left it. */
const incomingOf = (ctx: Context) => incomingFromNode(ctx.req, { method: ctx.method, url: ctx.originalUrl, parsedBody: (ctx.request as { body?: unknown }).body });

/** The text Koa will send for `ctx.body`, or undefined for a stream (not captured). */
function bodyText(body: unknown): string | undefined {
  if (body == null) return "";
  if (typeof body === "string") return body;
  if (Buffer.isBuffer(body)) return body.toString("utf8");
  if (typeof (body as { pipe?: unknown }).pipe === "function") return undefined;
  return JSON.stringify(body);
}

/**
 * Binds a policy to Koa 3: reads the body once (413/415), asks the policy, writes a rejection or
 * replay, and stores the handler's response (`ctx.body` after `await next()`) when the decision
 * asks to capture it. Thrown errors become problems; others than a `ProblemError` are emitted
 * on the app's `error` event.
 * @example
 * const a = alloovium({ policy, capabilities });
 * router.get(whoami.routePath, a.route(whoami), (ctx) => { ctx.body = ctx.state.principal; });
 * app.use(a.errorHandler).use(router.routes()).use(a.notFound);
 */
export function alloovium(options: AllooviumOptions): AllooviumKoa {
  const gate = createHttpGate(options);
  // A thrown error as a problem; others than a `ProblemError` also go to `app.on("error")`.
  const fail = async (ctx: Context, error: unknown, decision?: ContinueDecision) => {
    if (!isProblemError(error)) ctx.app.emit("error", error, ctx);
    write(ctx, decision ? await decision.abort(error) : gate.fail(error));
  };
  return {
    gate,
    route: (capability) => async (ctx, next) => {
      const result = await gate.enter(incomingOf(ctx), capability);
      if (result.kind === "respond") return write(ctx, result.response);
      const { decision, request } = result;
      ctx.state.principal = decision.principal;
      ctx.state.policyRequest = request;
      ctx.state.input = result.input;
      (ctx.request as { body?: unknown }).body = request.body;
      ctx.set(decision.headers);
      try {
        await next();
      } catch (error) {
        return fail(ctx, error, decision);
      }
      if (decision.owes !== "response") return decision.commit({ status: ctx.status }); // keep or refund the credits
      // A streamed body (text undefined) is not stored: a retry runs again, but its credits stay.
      const text = bodyText(ctx.body);
      if (text !== undefined && ctx.body !== null && typeof ctx.body === "object" && !Buffer.isBuffer(ctx.body)) ctx.body = text; // sent as captured
      await decision.commit({ status: ctx.status, headers: ctx.response.headers as Record<string, string>, ...(text === undefined ? {} : { body: text }) });
    },
    errorHandler: async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        await fail(ctx, error);
      }
    },
    screen: async (ctx, next) => {
      const result = await gate.screen(incomingOf(ctx));
      if (result.kind === "respond") return write(ctx, result.response);
      ctx.state["policyRequest"] = result.request;
      (ctx.request as { body?: unknown }).body = result.request.body;
      await next();
    },
    notFound: async (ctx) => write(ctx, await gate.unmatched(incomingOf(ctx))),
  };
}

import {
  NULL_BODY_STATUSES,
  createHttpGate,
  flattenHeaders,
  type Capability,
  type CapabilitySet,
  type HttpGate,
  type HttpGateOptions,
  type PolicyRequest,
  type Principal,
  type WireResponse,
} from "@alloovium/core";
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";

/** The Hono env of policy routes: `c.get("principal")`, `c.get("policyRequest")`. */
export interface AllooviumEnv {
  Variables: {
    /** Who is calling. */
    principal: Principal;
    /** The request as the policy saw it: `body` (parsed JSON) or `rawBody` (text that did not parse). */
    policyRequest: PolicyRequest;
  };
}

/** Options of `alloovium`: the policy, the body cap, and the capability set for 404/405. */
export interface AllooviumOptions extends HttpGateOptions {
  /** Used by `notFound` to answer 404 `not_found` or 405 `method_not_allowed` with `Allow`. */
  readonly capabilities?: CapabilitySet;
}

/** The Hono binding of a policy. */
export interface AllooviumHono {
  readonly gate: HttpGate;
  /** Middleware for one capability's route: `app.get(cap.routePath, a.route(cap), handler)`. */
  route(capability: Capability): MiddlewareHandler<AllooviumEnv>;
  /** `app.notFound(a.notFound)`: problems for unknown routes and methods. */
  readonly notFound: NotFoundHandler;
  /** `app.onError(a.onError)`: a thrown error outside a policy route as a problem (no stack). */
  readonly onError: ErrorHandler;
}

function toResponse(r: WireResponse): Response {
  return new Response(NULL_BODY_STATUSES.has(r.status) ? null : r.body, { status: r.status, headers: r.headers });
}

/**
 * Binds a policy to Hono: reads the body once (413/415), asks the policy, writes a rejection or
 * replay, and stores the handler's response when the decision asks to capture it.
 * @example
 * const a = alloovium({ policy, capabilities });
 * app.get(whoami.routePath, a.route(whoami), (c) => c.json(c.get("principal")));
 */
export function alloovium(options: AllooviumOptions): AllooviumHono {
  const gate = createHttpGate(options);
  const { capabilities } = options;
  return {
    gate,
    route: (capability) => async (c, next) => {
      const incoming = (c.env as { incoming?: { rawHeaders?: string[] } } | undefined)?.incoming;
      const result = await gate.enter(
        { method: c.req.method, url: c.req.url, headers: incoming?.rawHeaders ?? flattenHeaders(c.req.raw.headers), body: c.req.raw.body },
        capability,
      );
      if (result.kind === "respond") return toResponse(result.response);
      const { decision, request } = result;
      // The body stream is spent: handlers read it through Hono's cache (c.req.json(), c.req.text()).
      const cache = c.req.bodyCache as Record<string, Promise<unknown>>; // typed as values, holds promises
      if (request.body !== undefined) cache["json"] = Promise.resolve(request.body);
      else if (request.rawBody !== undefined) cache["text"] = Promise.resolve(request.rawBody);
      c.set("principal", decision.principal);
      c.set("policyRequest", request);
      try {
        await next();
      } catch (error) {
        return replace(c, await gate.fail(error, decision)); // not an Error: Hono's compose rethrows it
      }
      if (c.error) return replace(c, await gate.fail(c.error, decision));
      const res = c.res;
      if (decision.capture) {
        const body = await res.text();
        await gate.finish(decision, { status: res.status, headers: res.headers, body });
        c.res = undefined; // Hono's setter would merge the old response's headers into the new one
        c.res = new Response(NULL_BODY_STATUSES.has(res.status) ? null : body, { status: res.status, headers: res.headers });
      }
      for (const [name, value] of Object.entries(decision.headers)) c.res.headers.set(name, value);
      return;
    },
    notFound: (c) => toResponse(capabilities ? gate.unmatched(capabilities, c.req.method, c.req.path) : gate.policy.reject({ code: "not_found", detail: "No resource here." }).response),
    onError: async (error) => toResponse(await gate.fail(error)),
  };
}

function replace(c: Context, r: WireResponse): void {
  c.res = undefined; // as above: no header of the handler's response survives into the problem
  c.res = toResponse(r);
}

export type { WireResponse };

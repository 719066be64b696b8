import { NULL_BODY_STATUSES, createHttpGate, incomingFromFetch, incomingFromNode, type Capability, type HttpGate, type HttpGateOptions, type IncomingRequest, type NodeRequestLike, type PolicyContext, type PolicyRequest, type WireResponse } from "@alloovium/core";
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from "hono";

/** The Hono env of policy routes: `c.get("principal")`, `c.get("policyRequest")`. */
export interface AllooviumEnv {
  Variables: PolicyContext;
}

/** Options of `alloovium`: the gate's (policy, body cap, capabilities for 404/405). */
export type AllooviumOptions = HttpGateOptions;

/** The Hono binding of a policy. */
export interface AllooviumHono {
  readonly gate: HttpGate;
  /** Middleware for one capability's route: `app.get(cap.routePath, a.route(cap), handler)`. */
  route(capability: Capability): MiddlewareHandler<AllooviumEnv>;
  /**
   * Middleware for a route outside the policy (a health check, static files): a credential
   * anywhere but the Authorization header (query, cookies, headers, body) is 400
   * `credential_location_not_allowed`, as on every route; the body is read (with the cap) to
   * be scanned, and handed on through `c.req.json()` / `c.req.text()` and `c.get("policyRequest")`.
   * @example app.get("/healthz", a.screen, (c) => c.json({ status: "ok" }));
   */
  readonly screen: MiddlewareHandler<AllooviumEnv>;
  /** `app.notFound(a.notFound)`: problems for unknown routes and methods, after the same screen. */
  readonly notFound: NotFoundHandler;
  /** `app.onError(a.onError)`: a thrown error outside a policy route as a problem (no stack). */
  readonly onError: ErrorHandler;
}

function toResponse(r: WireResponse): Response {
  return new Response(NULL_BODY_STATUSES.has(r.status) ? null : r.body, { status: r.status, headers: r.headers });
}

/** The Node request @hono/node-server puts in `c.env.incoming` (an `IncomingMessage`). */
interface NodeIncoming extends NodeRequestLike {
  readonly url?: string;
}

/** The Node response in `c.env.outgoing` (a `ServerResponse`). */
interface NodeOutgoing {
  setHeader(name: string, value: string): unknown;
}

type NodeBindings = { incoming?: NodeIncoming; outgoing?: NodeOutgoing } | undefined;

/**
 * The request as the gate needs it. On @hono/node-server the Node request (`c.env.incoming`) is
 * read directly: touching `c.req.raw.body` or its headers makes the server build a full Fetch
 * Request and AbortController per request, and that body is null on GET, where a misplaced
 * credential must still be found. Elsewhere (Bun, Deno, workers) the Fetch request is read.
 */
function incomingOf(c: Context): IncomingRequest {
  const incoming = (c.env as NodeBindings)?.incoming;
  if (incoming && Array.isArray(incoming.rawHeaders)) {
    return incomingFromNode(incoming, { method: c.req.method, url: incoming.url ?? c.req.path });
  }
  return incomingFromFetch(c.req.raw); // Bun.serve, Deno.serve, workers, app.request
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
  return {
    gate,
    route: (capability) => async (c, next) => {
      const result = await gate.enter(incomingOf(c), capability);
      if (result.kind === "respond") return toResponse(result.response);
      const { decision, request } = result;
      handOn(c, request);
      c.set("principal", decision.principal);
      c.set("input", result.input);
      try {
        await next();
      } catch (error) {
        return replace(c, await decision.abort(error)); // not an Error: Hono's compose rethrows it
      }
      if (c.error) return replace(c, await decision.abort(c.error));
      const res = c.res;
      if (decision.owes === "response") {
        const body = await res.text();
        await decision.commit({ status: res.status, headers: res.headers, body });
        c.res = undefined; // Hono's setter would merge the old response's headers into the new one
        c.res = new Response(NULL_BODY_STATUSES.has(res.status) ? null : body, { status: res.status, headers: res.headers });
      } else if (decision.owes === "status") await decision.commit({ status: res.status }); // keep or refund the credits
      const outgoing = (c.env as NodeBindings)?.outgoing;
      if (outgoing && typeof outgoing.setHeader === "function") {
        // On Node the RateLimit headers go on the ServerResponse, which merges them into whatever
        // response is written: reading `c.res.headers` would turn the handler's plain header
        // record into a Fetch `Headers` (slow to build and to write), and Hono's HEAD answer
        // (`new Response(null, res)`) would drop headers set on it afterwards.
        for (const name in decision.headers) outgoing.setHeader(name, decision.headers[name] as string);
        return;
      }
      const headers = c.res.headers;
      for (const name in decision.headers) headers.set(name, decision.headers[name] as string);
      // Hono answers HEAD with `new Response(null, res)` of the GET response, whose copy may keep
      // only the headers the response was built with: rebuild it with all.
      if (request.method === "HEAD") {
        const { status } = c.res;
        c.res = undefined;
        c.res = new Response(null, { status, headers });
      }
      return;
    },
    screen: async (c, next) => {
      const result = await gate.screen(incomingOf(c));
      if (result.kind === "respond") return toResponse(result.response);
      handOn(c, result.request);
      await next();
    },
    notFound: async (c) => toResponse(await gate.unmatched(incomingOf(c))),
    onError: (error) => toResponse(gate.fail(error)),
  };
}

/** The body stream is spent: handlers read it through Hono's cache (`c.req.json()`, `c.req.text()`). */
function handOn(c: Context, request: PolicyRequest): void {
  const cache = c.req.bodyCache as Record<string, Promise<unknown>>; // typed as values, holds promises
  if (request.body !== undefined) cache["json"] = Promise.resolve(request.body);
  else if (request.rawBody !== undefined) cache["text"] = Promise.resolve(request.rawBody);
  c.set("policyRequest", request);
}

function replace(c: Context, r: WireResponse): void {
  c.res = undefined; // as above: no header of the handler's response survives into the problem
  c.res = toResponse(r);
}

export type { WireResponse };

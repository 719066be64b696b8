import { createHttpGate, incomingFromNode, settleNodeResponse, type Capability, type ContinueDecision, type HttpGate, type HttpGateOptions, type PolicyContext, type WireResponse } from "@alloovium/core";
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";

/** What a policy route puts in `res.locals` (`body` also on `req.body`). */
export type AllooviumLocals = PolicyContext;

/** The response type of a handler behind `route()`: `res.locals.principal` is typed. */
export type AllooviumResponse = Response<unknown, AllooviumLocals>;

/** Options of `alloovium`: the gate's (policy, body cap, capabilities for 404/405). */
export type AllooviumOptions = HttpGateOptions;

/** The Express binding of a policy. */
export interface AllooviumExpress {
  readonly gate: HttpGate;
  /** Middleware for one capability's route: `app.get(cap.routePath, a.route(cap), handler)`. */
  route(capability: Capability): RequestHandler;
  /**
   * Middleware for a route outside the policy (a health check, static files): a credential
   * anywhere but the Authorization header (query, cookies, headers, body) is 400
   * `credential_location_not_allowed`, as on every route; the body is read (with the cap) to
   * be scanned, and passed on in `req.body` and `res.locals.policyRequest`.
   * @example app.get("/healthz", a.screen, (req, res) => res.json({ status: "ok" }));
   */
  readonly screen: RequestHandler;
  /** `app.use(a.notFound)` after the routes: problems for unknown routes and methods, after the same screen. */
  readonly notFound: RequestHandler;
  /** `app.use(a.errorHandler)` last: thrown errors as problems (no stack), settling idempotency. */
  readonly errorHandler: ErrorRequestHandler;
}

const DECISION = Symbol("alloovium.decision");
type Locals = Record<string | symbol, unknown>;

function setHeaders(res: Response, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name] as string); // res.set() would append a charset
}

function write(res: Response, r: WireResponse): void {
  setHeaders(res, r.headers);
  res.status(r.status).end(r.body);
}

/** The request as the gate reads it: the body from the stream, or as `express.json()` parsed it. */
const incomingOf = (req: Request) => incomingFromNode(req, { method: req.method, url: req.originalUrl, parsedBody: req.body });

/**
 * Binds a policy to Express 5: reads the body once (413/415), asks the policy, writes a rejection
 * or replay, and stores the handler's response (or just its status) when the decision asks to settle it.
 * @example
 * const a = alloovium({ policy, capabilities });
 * app.get(whoami.routePath, a.route(whoami), (req, res: AllooviumResponse) => res.json(res.locals.principal));
 * app.use(a.notFound, a.errorHandler);
 */
export function alloovium(options: AllooviumOptions): AllooviumExpress {
  const gate = createHttpGate(options);
  const notFound: RequestHandler = (req, res, next) => {
    gate.unmatched(incomingOf(req)).then((r) => write(res, r), next);
  };
  return {
    gate,
    route: (capability) => (req, res, next) => {
      gate.enter(incomingOf(req), capability).then((result) => {
        if (result.kind === "respond") return write(res, result.response);
        const { decision, request } = result;
        const locals = res.locals as Locals;
        locals["principal"] = decision.principal;
        locals["policyRequest"] = request;
        locals["input"] = result.input;
        locals[DECISION] = decision;
        req.body = request.body;
        setHeaders(res, decision.headers);
        if (decision.owes !== "nothing") settleNodeResponse(res, decision); // before the response is sent
        next();
      }, next);
    },
    screen: (req, res, next) => {
      gate.screen(incomingOf(req)).then((result) => {
        if (result.kind === "respond") return write(res, result.response);
        (res.locals as Locals)["policyRequest"] = result.request;
        req.body = result.request.body;
        next();
      }, next);
    },
    notFound,
    errorHandler: (error, req, res, next) => {
      if (res.headersSent) return next(error);
      const decision = (res.locals as Locals)[DECISION] as ContinueDecision | undefined;
      // The router could not decode a path parameter (`%E0%A4%A`, status 400): the client's bad path, a 404 as elsewhere.
      if (!decision && error instanceof URIError && (error as { status?: unknown }).status === 400) return notFound(req, res, next);
      if (!decision) return write(res, gate.fail(error));
      decision.abort(error).then((r) => write(res, r), next);
    },
  };
}

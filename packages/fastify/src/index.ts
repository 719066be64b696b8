import { ProblemError, createHttpGate, incomingFromNode, isProblemError, type Capability, type ContinueDecision, type HttpGate, type HttpGateOptions, type IncomingRequest, type PolicyContext, type WireResponse } from "@alloovium/core";
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, onSendHookHandler } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The capability this route serves: `app.get(cap.routePath, { config: { capability: cap } }, handler)`. */
    capability?: Capability;
  }
  /** `principal` is set on capability routes (null elsewhere); `policyRequest` on every route in the plugin's scope. */
  interface FastifyRequest extends PolicyContext {}
}

/** Options of `alloovium`: the gate's (policy, body cap, capabilities for 404/405). */
export type AllooviumOptions = HttpGateOptions;

/** The Fastify binding of a policy. */
export interface AllooviumFastify {
  readonly gate: HttpGate;
  /**
   * `await app.register(a.plugin)`, before the routes: in its scope it reads every body (capped,
   * through Fastify's content-type parser), runs the policy on routes whose `config.capability`
   * is set, screens the others (a credential outside the Authorization header is 400) and
   * answers 404/405 and thrown errors as problems.
   */
  readonly plugin: FastifyPluginAsync;
  /** `Fastify({ frameworkErrors: a.frameworkErrors })`: a path that does not decode is 404 `not_found`, as elsewhere. */
  readonly frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;
}

const DECISION = Symbol("alloovium.decision");
type Held = FastifyRequest & { [DECISION]: ContinueDecision | null };

/** As bytes: Fastify would add `; charset=utf-8` to a JSON media type sent as a string. */
function write(reply: FastifyReply, r: WireResponse): FastifyReply {
  return reply.code(r.status).headers(r.headers).send(Buffer.from(r.body));
}

/** True when a content-type parser other than the plugin's took the body (one the app added in the plugin's scope). */
const foreignBody = (request: FastifyRequest): boolean => request.body !== undefined && !(request.body instanceof Uint8Array);

/**
 * The request as the gate reads it: the bytes Fastify's parser took, or the stream (a GET's body
 * is not parsed); with no body when another parser took it (the stream is that parser's).
 */
function incomingOf(request: FastifyRequest, bodyOverLimit = false): IncomingRequest {
  const at = { method: request.method, url: request.raw.url ?? request.url, bodyOverLimit };
  if (foreignBody(request)) return incomingFromNode(request.raw, { ...at, parsedBody: null });
  return incomingFromNode(request.raw, request.body instanceof Uint8Array ? { ...at, bodyBytes: request.body } : at);
}

/** The text Fastify will send (it serialized objects before `onSend`), or undefined for a stream (not captured). */
function payloadText(payload: unknown): string | undefined {
  if (payload == null) return "";
  if (typeof payload === "string") return payload;
  return Buffer.isBuffer(payload) ? payload.toString("utf8") : undefined;
}

/**
 * Binds a policy to Fastify 5: one route option per capability, the principal on
 * `request.principal`, the handler's response stored (in `onSend`) when the decision asks to settle it.
 * @example
 * const a = alloovium({ policy, capabilities });
 * const app = Fastify({ frameworkErrors: a.frameworkErrors });
 * await app.register(a.plugin);
 * app.get(whoami.routePath, { config: { capability: whoami } }, async (request) => request.principal);
 */
export function alloovium(options: AllooviumOptions): AllooviumFastify {
  const gate = createHttpGate(options);
  const bodyLimit = options.bodyLimitBytes ?? 1_048_576; // the gate's default

  /** The policy for a capability route, the screen for others, the 404/405 for none; a reply sent, or the handler's turn. */
  async function admit(request: FastifyRequest, reply: FastifyReply, incoming: IncomingRequest): Promise<void> {
    if (request.is404) return void write(reply, await gate.unmatched(incoming));
    const capability = request.routeOptions.config.capability;
    const foreign = foreignBody(request);
    if (!capability || foreign) {
      const screened = await gate.screen(incoming);
      if (screened.kind === "respond") return void write(reply, screened.response);
      // A capability's body is the policy's to read (its fingerprint, its credential check): never another parser's.
      if (capability) return void write(reply, gate.fail(new ProblemError("unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")));
      request.policyRequest = screened.request;
      if (!foreign) request.body = screened.request.body; // else the app's parser's value (a stream) stays
      return;
    }
    const result = await gate.enter(incoming, capability);
    if (result.kind === "respond") return void write(reply, result.response);
    const { decision, request: policyRequest } = result;
    request.principal = decision.principal;
    request.policyRequest = policyRequest;
    request.input = result.input;
    request.body = policyRequest.body;
    reply.headers(decision.headers);
    (request as Held)[DECISION] = decision; // for onSend, or for the error handler's abort
    // A reply written without our onSend (hijacked): settled by its status once it has been sent,
    // nothing stored. Not on "close": a client gone mid-request leaves the handler running, and its
    // key must stay in flight until the handler answers (or the lease runs out).
    if (decision.owes !== "nothing") reply.raw.once("finish", () => void settleHeld(request, reply.raw.statusCode));
  }

  /** Settles a decision still held when its reply was sent without our onSend: the key given back, the credits by the status. */
  async function settleHeld(request: FastifyRequest, status: number): Promise<void> {
    const decision = (request as Held)[DECISION];
    if (!decision) return;
    (request as Held)[DECISION] = null;
    await decision.commit({ status }).catch(() => {});
  }

  /** The last `onSend` of every route in the scope: the payload it sees is the one sent, stored or not as the decision owes. */
  const capture: onSendHookHandler = (request, reply, payload, done) => {
    const decision = (request as Held)[DECISION];
    if (!decision) return done(null, payload);
    (request as Held)[DECISION] = null;
    if (decision.owes === "nothing") return done(null, payload);
    const send = () => done(null, payload);
    if (decision.owes === "status") return void decision.commit({ status: reply.statusCode }).then(send, send); // keep or refund the credits
    // A streamed body (text undefined) is not stored: a retry runs again, but its credits stay.
    const body = payloadText(payload);
    decision.commit({ status: reply.statusCode, headers: reply.getHeaders(), ...(body === undefined ? {} : { body }) }).then(send, send);
  };

  // What every registration of this plugin saw (sibling scopes may each register it): a route is
  // covered when any of them saw it, by its path or by the capability in its config.
  const covered = new Set<string>();
  const coveredIds = new Set<string>();
  const plugin: FastifyPluginAsync = async (app) => {
    app.decorateRequest("principal", null as never);
    app.decorateRequest("policyRequest", null as never);
    app.decorateRequest("input", null as never);
    app.decorateRequest(DECISION as unknown as string, null);
    // One read per body, with the cap, whatever its type: the gate judges it (413/415/400, credentials).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (_request, body, done) => done(null, body));
    app.addHook("preHandler", (request, reply, done) => {
      if (request.is404) return done(); // the not-found handler answers, with the same screen
      admit(request, reply, incomingOf(request)).then(() => done(), done);
    });
    // Route-level hooks run after the scope's: appended to each route's own, ours is the last onSend.
    app.addHook("onRoute", (route) => {
      for (const method of [route.method].flat()) covered.add(`${method} ${route.url}`);
      const capability = (route.config as { capability?: Capability } | undefined)?.capability;
      if (capability) coveredIds.add(capability.id);
      route.onSend = [...(route.onSend ? [route.onSend].flat() : []), capture];
    });
    // Fail closed: a capability's route registered where this plugin's hooks do not reach (another
    // scope, or before the plugin) would run with no policy. Checked for the capabilities passed.
    app.addHook("onReady", (done) => {
      const outside = [...(options.capabilities ?? [])].find((c) => app.hasRoute({ method: c.method, url: c.routePath }) && !covered.has(`${c.method} ${c.routePath}`) && !coveredIds.has(c.id));
      done(outside ? new Error(`@alloovium/fastify: the route of ${outside.id} (${outside.method} ${outside.routePath}) is outside the plugin's scope and would run with no policy: register it after \`app.register(a.plugin)\`, in the same scope or a child of it`) : undefined);
    });
    app.setNotFoundHandler((request, reply) => admit(request, reply, incomingOf(request)));
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const decision = (request as Held)[DECISION];
      if (decision) {
        (request as Held)[DECISION] = null;
        return write(reply, await decision.abort(error));
      }
      if (!isProblemError(error) && !error.code?.startsWith("FST_ERR_CTP_")) request.log.error({ err: error }, "alloovium: error outside a policy decision");
      // The parser stopped at the cap, or never ran (a Content-Type Fastify cannot read): the gate judges as it would have.
      // Screened, never admitted: the request is refused whatever the screen says (no key claimed, no call counted).
      if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE" || error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
        const screened = await gate.screen(incomingOf(request, error.code === "FST_ERR_CTP_BODY_TOO_LARGE"));
        return write(reply, screened.kind === "respond" ? screened.response : gate.fail(new ProblemError("unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")));
      }
      if (error.code?.startsWith("FST_ERR_CTP_")) return write(reply, gate.fail(new ProblemError("invalid_body", "The request body could not be read.")));
      return write(reply, gate.fail(error));
    });
  };

  return {
    gate,
    // Cast: fastify-plugin's types name its own copy of fastify, which may not be the app's.
    plugin: fp(plugin as never, { fastify: "5.x", name: "@alloovium/fastify" }) as FastifyPluginAsync,
    frameworkErrors: (error, request, reply) => {
      const known = error.code === "FST_ERR_BAD_URL" || error.code === "FST_ERR_MAX_PARAM_LENGTH";
      if (!known) return void write(reply, gate.fail(error));
      gate.unmatched(incomingOf(request)).then((r) => write(reply, r), (e: unknown) => write(reply, gate.fail(e)));
    },
  };
}

export type { WireResponse };

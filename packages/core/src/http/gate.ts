import { pathForDetail, type Capability, type CapabilitySet } from "../capabilities";
import { checkBodyText, checkCredentialLocation, checkRequestTarget } from "../credentials/transport";
import type { Principal } from "../credentials/principal";
import type { ContinueDecision, Policy, PolicyRequest, WireResponse } from "../pipeline";
import { isProblemError } from "../problems/common";
import { internalError, isPolicyError, policyError, ProblemError, type PolicyError } from "../problems/problem";
import { DEFAULT_BODY_LIMIT_BYTES, NO_BODY, readRequestBody, requestHasBody, tooLarge, type RequestBody } from "./body";
import { fetchHeaderList, headerValue } from "./headers";
import { INVALID_REQUEST_CHALLENGE } from "../problems/challenge";
import { rawInput, validateInput, validates, type RequestInput } from "./input";

/** What an adapter knows about a request before the policy runs. */
export interface IncomingRequest {
  /** The HTTP method, any case. */
  readonly method: string;
  /** The request target (`/path?query`) or an absolute URL. */
  readonly url: string;
  /** The raw header list (`req.rawHeaders`), so that duplicates survive. */
  readonly headers: readonly string[];
  /**
   * The body bytes, read once by the gate; or the whole body as bytes when the framework's own
   * reader took it with the same cap (Fastify's content-type parser).
   */
  readonly body?: AsyncIterable<Uint8Array> | Uint8Array | null;
  /**
   * True when the framework's own reader stopped at the cap (Fastify's `FST_ERR_CTP_BODY_TOO_LARGE`):
   * 413 `payload_too_large`, after the credential checks, as when the gate reads. @default false
   */
  readonly bodyOverLimit?: boolean;
  /** The body another layer already parsed (`express.json()`); used instead of reading `body`. */
  readonly parsedBody?: { readonly value: unknown };
  /** Cookies when the framework parsed them. */
  readonly cookies?: Readonly<Record<string, string>>;
  /**
   * The raw trailer list of a chunked body (`() => req.rawTrailers`), called after the body is
   * read: a credential in a trailer field is refused as in a header. @default none
   */
  readonly trailers?: () => readonly string[] | undefined;
  /**
   * A part of the request that it announces but the adapter cannot read, so no credential in it
   * can be seen: `"body"` (a Fetch GET/HEAD with `Content-Length` or `Transfer-Encoding`: its
   * `body` is null) or `"trailers"` (a `Trailer` header: Fetch has no trailers). Refused with 400
   * `credential_location_not_allowed`, as Node refuses a credential found there. @default none
   */
  readonly unreadable?: "body" | "trailers";
}

/** What a policy route hands its handler, on every framework. */
export interface PolicyContext {
  /** Who is calling. */
  principal: Principal;
  /** The request as the policy saw it: `body` (parsed JSON, also where the framework keeps bodies) or `rawBody` (text that did not parse). */
  policyRequest: PolicyRequest;
  /**
   * The path parameters, query and body, parsed by the capability's schemas (validated after the
   * policy admitted the request); typed with `inputOf(capability, context)`.
   */
  input: RequestInput<unknown, unknown, unknown>;
}

/** A Node `IncomingMessage` as the gate reads it (the body stream, the raw headers and trailers). */
export interface NodeRequestLike extends AsyncIterable<Uint8Array> {
  readonly rawHeaders: string[];
  readonly rawTrailers?: string[];
}

/**
 * The `IncomingRequest` of a Node request: the raw header list (duplicates kept), the trailers once
 * the body is read, and the body from the stream — or `parsedBody`, when a body parser ran first.
 * @example gate.enter(incomingFromNode(req, { method: req.method, url: req.originalUrl, parsedBody: req.body }), capability)
 */
export function incomingFromNode(req: NodeRequestLike, at: NodeRequestAt): IncomingRequest {
  return new NodeIncoming(req, at);
}

/** What `incomingFromNode` takes beside the Node request. */
export interface NodeRequestAt {
  readonly method: string;
  readonly url: string;
  /** What a body parser that ran first left (`req.body`); used instead of the stream. */
  readonly parsedBody?: unknown;
  /** The whole body, when the framework's own capped reader took it from the stream. */
  readonly bodyBytes?: Uint8Array;
  /** The framework's own reader stopped at the cap: 413 after the credential checks. */
  readonly bodyOverLimit?: boolean;
}

/** A Fetch `Request` as the gate reads it (Bun, Deno, workers, Hono's `c.req.raw`). */
export interface FetchRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: Iterable<readonly [string, string]>;
  readonly body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | null;
}

/**
 * The `IncomingRequest` of a Fetch `Request` (Request in, Response out: Bun.serve, Deno.serve,
 * workers). Its headers as a flat list, with two `Authorization` headers that Fetch merged into
 * one value split back (see `fetchHeaderList`), and the body stream, read once by the gate.
 * @example gate.enter(incomingFromFetch(c.req.raw), capability)
 */
export function incomingFromFetch(request: FetchRequestLike): IncomingRequest {
  const headers = fetchHeaderList(request.headers);
  const incoming = { method: request.method, url: request.url, headers, body: request.body as AsyncIterable<Uint8Array> | null };
  // What Fetch cannot show is refused, not let through unscreened (see `unreadable`).
  if (request.body === null && requestHasBody(headers)) return { ...incoming, unreadable: "body" };
  if (headerValue(headers, "trailer") !== undefined) return { ...incoming, unreadable: "trailers" };
  return incoming;
}

/** The refusal of a request part the adapter cannot read (`IncomingRequest.unreadable`). */
function unreadable(part: "body" | "trailers"): PolicyError {
  return part === "body"
    ? policyError(
        "credential_location_not_allowed",
        "This request announces a body that cannot be read on this runtime (a body on GET or HEAD), so it cannot be checked for credentials: send the body with POST, or send none.",
        { location: "body" },
        INVALID_REQUEST_CHALLENGE,
      )
    : policyError(
        "credential_location_not_allowed",
        "This request announces trailer fields, which cannot be read on this runtime, so they cannot be checked for credentials: send the request without trailers.",
        { location: "header" },
        INVALID_REQUEST_CHALLENGE,
      );
}

/** One object per request, its `trailers` a method (no closure is made per request). */
class NodeIncoming implements IncomingRequest {
  readonly headers: readonly string[];
  readonly method: string;
  readonly url: string;
  readonly body?: AsyncIterable<Uint8Array> | Uint8Array;
  readonly parsedBody?: { readonly value: unknown };
  readonly bodyOverLimit?: boolean;
  constructor(
    private readonly req: NodeRequestLike,
    at: NodeRequestAt,
  ) {
    this.headers = req.rawHeaders;
    this.method = at.method;
    this.url = at.url;
    if (at.bodyOverLimit) this.bodyOverLimit = true;
    else if (at.bodyBytes !== undefined) this.body = at.bodyBytes;
    else if (at.parsedBody === undefined) this.body = req;
    else this.parsedBody = { value: at.parsedBody };
  }
  /** Filled once the body is read. */
  trailers(): readonly string[] | undefined {
    return this.req.rawTrailers;
  }
}

/**
 * The gate's answer: write `response`, or run the handler under `decision` with `input` (the
 * request parsed by the capability's schemas: hand it on as the context's `input`).
 */
export type GateResult =
  | Respond
  | { readonly kind: "continue"; readonly decision: ContinueDecision; readonly request: PolicyRequest; readonly input: RequestInput<unknown, unknown, unknown> };

/** Write `response` as is: a refusal, a replay, or an answer the gate gave itself. */
interface Respond {
  readonly kind: "respond";
  readonly response: WireResponse;
}

/**
 * `screen`'s answer: write `response`, or run the route with `request` (its `body`/`rawBody` as
 * read: the body stream is spent).
 */
export type ScreenResult = Respond | { readonly kind: "continue"; readonly request: PolicyRequest };

/** Options of `createHttpGate`. */
export interface HttpGateOptions {
  /** The policy from `createPolicy`. */
  readonly policy: Policy;
  /** Largest request body accepted, in bytes (413 `payload_too_large` above). @default 1048576 */
  readonly bodyLimitBytes?: number;
  /** What `unmatched` answers from: 405 `method_not_allowed` (with `Allow`) for a known path, 404 `not_found` for others. @default none (404 for every unmatched request) */
  readonly capabilities?: CapabilitySet;
}

/**
 * The framework-neutral HTTP edge every adapter shares: it decides nothing the policy does not.
 * An adapter builds the `IncomingRequest`, enters, writes a `respond` result or runs the handler
 * under the decision, then settles it (`decision.commit` / `decision.abort`).
 */
export interface HttpGate {
  readonly policy: Policy;
  /**
   * A capability's route: reads the body (413/415), builds the `PolicyRequest`, asks the policy,
   * then validates the capability's schemas (query, path parameters, body). A refused input is
   * the handler's answer (400 `invalid_parameter`/`invalid_body`, 422 `validation_failed`),
   * settled under the decision (stored for replay) and returned to write. Never rejects.
   */
  enter(incoming: IncomingRequest, capability: Capability): Promise<GateResult>;
  /**
   * For a route outside the policy (a health check, static files): reads the body with the cap,
   * only to scan it, and answers 400 `credential_location_not_allowed` for a credential anywhere
   * outside the Authorization header (query, cookies, headers, body of any media type), or 413
   * `payload_too_large` for a body over the cap (it could not be scanned). Nothing else is judged:
   * no authentication, no 415. Never rejects.
   * @example
   * const screened = await gate.screen({ method, url, headers: req.rawHeaders, body: req });
   * if (screened.kind === "respond") return send(screened.response);
   */
  screen(incoming: IncomingRequest): Promise<ScreenResult>;
  /**
   * The answer to a request no route took, after the same screen as every route (a credential in
   * its query, cookies, headers or body answers 400 `credential_location_not_allowed`): 405
   * `method_not_allowed` with `Allow` where `capabilities` has the path, else 404 `not_found`.
   * Never rejects.
   * @example app.use(async (req, res) => send(res, await gate.unmatched(incomingOf(req))));
   */
  unmatched(incoming: IncomingRequest): Promise<WireResponse>;
  /**
   * A thrown error outside a policy route (no decision to settle): a `ProblemError` as its
   * problem, anything else a bare 500 `internal_error` (no message, no stack).
   * Inside a policy route, `decision.abort(error)` answers and settles instead.
   */
  fail(error: unknown): WireResponse;
}

/** Statuses whose responses never carry a body (Fetch refuses one). */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** Splits a request target or absolute URL into path and raw query (no `?`). */
export function splitTarget(url: string): { readonly path: string; readonly query: string } {
  let start = 0;
  if (!url.startsWith("/")) {
    const scheme = url.indexOf("://");
    if (scheme >= 0) {
      // The path starts where the authority ends: `http://host?q` has none, and keeps its query.
      start = scheme + 3;
      while (start < url.length && !"/?#".includes(url.charAt(start))) start++;
    }
  }
  const q = url.indexOf("?", start);
  const hash = url.indexOf("#", start);
  const end = hash < 0 ? url.length : hash;
  const inQuery = q >= 0 && q < end;
  const path = url.slice(start, inQuery ? q : end);
  return { path: path === "" && start > 0 ? "/" : path, query: inQuery ? url.slice(q + 1, end) : "" };
}

function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function notFoundAt(path: string): PolicyError {
  return policyError("not_found", `No resource at ${pathForDetail(path)}.`);
}

/**
 * The HTTP edge every adapter shares: reads the body once with the cap, builds the `PolicyRequest`, asks the policy, and answers unmatched routes and thrown errors as problems.
 * @example
 * const gate = createHttpGate({ policy, bodyLimitBytes: 1_048_576 });
 * const result = await gate.enter({ method, url, headers: req.rawHeaders, body: req }, capability);
 */
export function createHttpGate(options: HttpGateOptions): HttpGate {
  const { policy, capabilities } = options;
  if (!policy || typeof policy.decide !== "function") throw new TypeError("createHttpGate: `policy` must come from createPolicy");
  const limit = options.bodyLimitBytes;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new TypeError("createHttpGate: `bodyLimitBytes` must be an integer >= 0");
  }
  const readOptions = limit === undefined ? {} : { limitBytes: limit };
  // A policy object of its own (a wrapper) may lack the method: the check with default options then.
  const locate = typeof policy.checkCredentialLocation === "function" ? (req: PolicyRequest) => policy.checkCredentialLocation(req) : (req: PolicyRequest) => checkCredentialLocation(req);
  const respond = (error: PolicyError) => ({ kind: "respond", response: policy.reject(error).response }) as const;

  /** The request as the policy sees it, with the body read once (413/415/400 in `problem`). */
  type Admitted = { readonly request: MutableRequest; readonly read: RequestBody; readonly trailers: PolicyError | null } | PolicyError;

  /** The request as the policy sees it; a promise only when a body must be read from the stream. */
  function admit(incoming: IncomingRequest): Admitted | Promise<Admitted> {
    const method = incoming.method.toUpperCase();
    const { path, query } = splitTarget(incoming.url);
    if (incoming.unreadable !== undefined) return unreadable(incoming.unreadable);
    const request: MutableRequest = { method, path, query, headers: incoming.headers };
    if (incoming.cookies) request.cookies = incoming.cookies;
    if (incoming.parsedBody) return withBody(incoming, request, { body: incoming.parsedBody.value });
    if (incoming.bodyOverLimit) return withBody(incoming, request, { problem: tooLarge(limit ?? DEFAULT_BODY_LIMIT_BYTES) });
    // The hot path (no body) does not wait for a read.
    if (!incoming.body || !requestHasBody(incoming.headers)) return { request, read: NO_BODY, trailers: trailersOf(incoming, method) };
    return readRequestBody(method, incoming.headers, incoming.body, readOptions).then(
      (read) => withBody(incoming, request, read),
      () => policyError("invalid_body", "The request body could not be read."), // the client went away mid-body
    );
  }

  function withBody(incoming: IncomingRequest, request: MutableRequest, read: RequestBody): Admitted {
    if (read.body !== undefined) request.body = read.body;
    if (read.rawBody !== undefined) request.rawBody = read.rawBody;
    return { request, read, trailers: trailersOf(incoming, request.method) };
  }

  /** A credential in the trailer fields (there only once the body is read), judged as in a header. */
  function trailersOf(incoming: IncomingRequest, method: string): PolicyError | null {
    const trailers = incoming.trailers?.();
    if (!trailers || trailers.length === 0) return null;
    // An Authorization trailer is a credential outside the header section: judged by shape as
    // any other field (the scan skips only the header named Authorization).
    const fields = trailers.map((v, i) => (i % 2 === 0 && v.length === 13 && v.toLowerCase() === "authorization" ? "authorization-trailer" : v));
    return locate({ method, path: "/", query: "", headers: fields });
  }

  /** The credential check of the request as parsed, with the text of a body that is not JSON. */
  function misplaced(request: PolicyRequest, read: RequestBody): PolicyError | null {
    return locate(request) ?? (read.text === undefined ? null : checkBodyText(read.text, { form: read.form === true }));
  }

  /** The gate's own checks of an admitted request, then the policy's decision. */
  async function decideAdmitted(admitted: Admitted, incoming: IncomingRequest, capability: Capability): Promise<GateResult> {
    if (isPolicyError(admitted)) return respond(admitted);
    const { request, read } = admitted;
    const target = checkRequestTarget(incoming.url) ?? admitted.trailers;
    if (target) return respond(target);
    // A path that does not decode names no resource (as `CapabilitySet.match` judges it), even
    // where the framework's router let it through with its parameters undecoded.
    if (request.path.includes("%") && !decodes(request.path)) return respond(misplaced(request, read) ?? notFoundAt(request.path));
    if (read.problem !== undefined || read.text !== undefined) {
      // Answered here, before `decide`: the credential location is still checked first.
      const located = misplaced(request, read);
      if (located) return respond(located);
      if (read.problem) return respond(read.problem);
    }
    const decision = await policy.decide(request, capability);
    if (decision.kind !== "continue") return { kind: "respond", response: decision.response };
    if (!validates(capability)) return { kind: "continue", decision, request, input: rawInput(capability, request) };
    let input;
    try {
      input = await validateInput(capability, request);
    } catch (error) {
      return { kind: "respond", response: await decision.abort(error) }; // a schema that threw: 500, the key released
    }
    // Validation belongs to the handler (contract section 3): its answer is settled as one.
    if (isPolicyError(input)) return { kind: "respond", response: await decision.abort(new ProblemError(input.code, input.detail, input.extensions)) };
    return { kind: "continue", decision, request, input };
  }

  async function screen(incoming: IncomingRequest): Promise<ScreenResult> {
    const admitted = await admit(incoming);
    if (isPolicyError(admitted)) return respond(admitted);
    const { request, read } = admitted;
    // The whole target first: its authority, path and fragment never reach `PolicyRequest.query`.
    const located = checkRequestTarget(incoming.url) ?? misplaced(request, read) ?? admitted.trailers;
    if (located) return respond(located);
    if (read.problem?.code === "payload_too_large") return respond(read.problem);
    return { kind: "continue", request };
  }

  return {
    policy,
    enter(incoming, capability) {
      let admitted;
      try {
        admitted = admit(incoming);
      } catch (e) {
        return Promise.reject(e); // a malformed IncomingRequest: a rejection, as from any async step
      }
      return admitted instanceof Promise ? admitted.then((a) => decideAdmitted(a, incoming, capability)) : decideAdmitted(admitted, incoming, capability);
    },
    fail: (error) => policy.reject(isProblemError(error) ? error : internalError()).response,
    screen,
    async unmatched(incoming) {
      const screened = await screen(incoming);
      if (screened.kind === "respond") return screened.response;
      const { method, path } = screened.request;
      const match = capabilities?.match(method, path);
      return policy.reject(match && "error" in match ? match.error : notFoundAt(path)).response;
    },
  };
}

type MutableRequest = { -readonly [K in keyof PolicyRequest]: PolicyRequest[K] };

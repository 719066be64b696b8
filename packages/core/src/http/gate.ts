import { pathForDetail, type Capability, type CapabilitySet } from "../capabilities";
import { checkCredentialLocation, type PolicyRequest } from "../credentials";
import type { ContinueDecision, Policy, WireResponse } from "../pipeline";
import { internalError, isPolicyError, isProblemCode, policyError, ProblemError, type PolicyError } from "../problems";
import { NO_BODY, readRequestBody, requestHasBody, type RequestBody } from "./body";

/** What an adapter knows about a request before the policy runs. */
export interface IncomingRequest {
  /** The HTTP method, any case. */
  readonly method: string;
  /** The request target (`/path?query`) or an absolute URL. */
  readonly url: string;
  /** The raw header list (`req.rawHeaders`), so that duplicates survive. */
  readonly headers: readonly string[];
  /** The body bytes, read once by the gate. */
  readonly body?: AsyncIterable<Uint8Array> | null;
  /** The body another layer already parsed (`express.json()`); used instead of reading `body`. */
  readonly parsedBody?: { readonly value: unknown };
  /** Cookies when the framework parsed them. */
  readonly cookies?: Readonly<Record<string, string>>;
}

/** The gate's answer: write `response`, or run the handler under `decision`. */
export type GateResult =
  | { readonly kind: "respond"; readonly response: WireResponse }
  | { readonly kind: "continue"; readonly decision: ContinueDecision; readonly request: PolicyRequest };

/** Options of `createHttpGate`. */
export interface HttpGateOptions {
  /** The policy from `createPolicy`. */
  readonly policy: Policy;
  /** Largest request body accepted, in bytes (413 `payload_too_large` above). @default 1048576 */
  readonly bodyLimitBytes?: number;
}

/** The framework-neutral HTTP edge every adapter shares: it decides nothing the policy does not. */
export interface HttpGate {
  readonly policy: Policy;
  /** Reads the body (413/415), builds the `PolicyRequest` and asks the policy. Never rejects. */
  enter(incoming: IncomingRequest, capability: Capability): Promise<GateResult>;
  /**
   * Renders a thrown error: a `ProblemError` as its problem, anything else as a bare 500
   * `internal_error`. Settles the idempotency record: a problem below 500 is the handler's
   * answer and is committed; anything else aborts so that a retry runs.
   */
  fail(error: unknown, decision?: ContinueDecision): Promise<WireResponse>;
  /** Stores the handler's response (below 500) or releases the key; no-op without `capture`. */
  finish(decision: ContinueDecision, response: { status: number; headers: Iterable<readonly [string, string]> | Readonly<Record<string, string | number | readonly string[] | undefined>>; body: string }): Promise<void>;
  /**
   * The 404 `not_found` or 405 `method_not_allowed` (with `Allow`) for a request no route took.
   * Given `request`, a credential in its query, cookies or headers answers 400
   * `credential_location_not_allowed` first, as on every route.
   */
  unmatched(capabilities: CapabilitySet, method: string, path: string, request?: UnmatchedRequest): WireResponse;
}

/** What `unmatched` checks for a misplaced credential: the target (for its query), headers, cookies. */
export type UnmatchedRequest = Pick<IncomingRequest, "url" | "headers" | "cookies">;

/** Statuses whose responses never carry a body (Fetch refuses one). */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/**
 * True for a `ProblemError`, also one from another copy of this package (an ESM and a CJS copy
 * loaded side by side), where `instanceof` would fail and turn a handler's 404 into a 500.
 */
export function isProblemError(error: unknown): error is ProblemError {
  if (error instanceof ProblemError) return true;
  return error instanceof Error && error.name === "ProblemError" && isPolicyError(error) && isProblemCode(error.code);
}

/** Splits a request target or absolute URL into path and raw query (no `?`). */
export function splitTarget(url: string): { readonly path: string; readonly query: string } {
  let start = 0;
  if (!url.startsWith("/")) {
    const scheme = url.indexOf("://");
    start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
    if (start < 0) return { path: "/", query: "" };
  }
  const q = url.indexOf("?", start);
  const hash = url.indexOf("#", start);
  const end = hash < 0 ? url.length : hash;
  return q < 0 || q > end ? { path: url.slice(start, end), query: "" } : { path: url.slice(start, q), query: url.slice(q + 1, end) };
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
 * @example
 * const gate = createHttpGate({ policy, bodyLimitBytes: 1_048_576 });
 * const result = await gate.enter({ method, url, headers: req.rawHeaders, body: req }, capability);
 */
export function createHttpGate(options: HttpGateOptions): HttpGate {
  const { policy } = options;
  if (!policy || typeof policy.decide !== "function") throw new TypeError("createHttpGate: `policy` must come from createPolicy");
  const limit = options.bodyLimitBytes;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new TypeError("createHttpGate: `bodyLimitBytes` must be an integer >= 0");
  }
  const readOptions = limit === undefined ? {} : { limitBytes: limit };
  const locate = policy.checkCredentialLocation?.bind(policy) ?? ((req: PolicyRequest) => checkCredentialLocation(req));
  const respond = (error: PolicyError): GateResult => ({ kind: "respond", response: policy.reject(error).response });

  /** The credential check before a transport problem: the request, then each layer of a form body. */
  function misplaced(request: PolicyRequest, form: RequestBody["form"]): PolicyError | null {
    const first = form?.[0];
    let found = locate(first ? { ...request, body: first } : request);
    for (let i = 1; found === null && form && i < form.length; i++) found = locate({ method: request.method, path: request.path, headers: [], body: form[i] });
    return found;
  }

  return {
    policy,
    async enter(incoming, capability) {
      const method = incoming.method.toUpperCase();
      const { path, query } = splitTarget(incoming.url);
      const request: { -readonly [K in keyof PolicyRequest]: PolicyRequest[K] } = { method, path, query, headers: incoming.headers };
      if (incoming.cookies) request.cookies = incoming.cookies;
      // A path that does not decode names no resource (as `CapabilitySet.match` judges it), even
      // where the framework's router let it through with its parameters undecoded.
      if (path.includes("%") && !decodes(path)) return respond(locate(request) ?? notFoundAt(path));
      let read: RequestBody = NO_BODY; // the hot path (no body) does not wait for a read
      try {
        if (incoming.parsedBody) read = { body: incoming.parsedBody.value };
        else if (incoming.body && requestHasBody(incoming.headers)) read = await readRequestBody(method, incoming.headers, incoming.body, readOptions);
      } catch {
        return respond(policyError("invalid_body", "The request body could not be read.")); // the client went away mid-body
      }
      if (read.problem !== undefined || read.form !== undefined) {
        // Answered here, before `decide`: the credential location is still checked first.
        const located = misplaced(request, read.form);
        if (located) return respond(located);
        if (read.problem) return respond(read.problem);
      }
      if (read.body !== undefined) request.body = read.body;
      if (read.rawBody !== undefined) request.rawBody = read.rawBody;
      const decision = await policy.decide(request, capability);
      if (decision.kind !== "continue") return { kind: "respond", response: decision.response };
      return { kind: "continue", decision, request };
    },
    async fail(error, decision) {
      const problem = isProblemError(error);
      const response = policy.reject(problem ? error : internalError()).response;
      const answered = problem && response.status < 500;
      if (decision) {
        if (answered) await decision.commit(response);
        else await decision.abort();
      }
      return decision ? { ...response, headers: { ...decision.headers, ...response.headers } } : response;
    },
    async finish(decision, response) {
      if (decision.capture) await decision.commit(response);
    },
    unmatched(capabilities, method, path, incoming) {
      const upper = method.toUpperCase();
      if (incoming) {
        const request: { -readonly [K in keyof PolicyRequest]: PolicyRequest[K] } = { method: upper, path, query: splitTarget(incoming.url).query, headers: incoming.headers };
        if (incoming.cookies) request.cookies = incoming.cookies;
        const located = locate(request);
        if (located) return policy.reject(located).response;
      }
      const match = capabilities.match(upper, path);
      return policy.reject("error" in match ? match.error : notFoundAt(path)).response;
    },
  };
}

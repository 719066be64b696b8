import type { Capability } from "../capabilities";
import type { Principal } from "../credentials/principal";
import type { PolicyResponse, Problem } from "../problems";

/** A response the adapter writes as is. */
export type WireResponse = PolicyResponse<string>;

/** The handler's response, as the adapter saw it, for `ContinueDecision.commit`. */
export interface HandlerResponse {
  readonly status: number;
  /** The response headers (kept for replay: `DEFAULT_REPLAY_HEADERS`). Needed when the decision `owes: "response"`. */
  readonly headers?: Iterable<readonly [string, string]> | Readonly<Record<string, string | number | readonly string[] | undefined>>;
  /**
   * The body's text, when the decision `owes: "response"`. Left out when it could not be captured
   * (a streamed body): below 500 the credits are kept and the idempotency key is released, so a
   * retry runs again.
   */
  readonly body?: string;
}

/** Refused: write `response`. */
export interface RejectDecision {
  readonly kind: "reject";
  readonly response: WireResponse;
  readonly problem: Problem;
  /** Who was refused, when the credential was verified before the refusal (scope, bucket, credits, Idempotency-Key); for logs and telemetry. */
  readonly principal?: Principal;
}

/** An idempotent replay: write `response`; the handler does not run. */
export interface ReplayDecision {
  readonly kind: "replay";
  readonly response: WireResponse;
  /** Who the stored response was replayed to. */
  readonly principal?: Principal;
}

/**
 * What an adapter owes a continuing decision once the handler has answered: `nothing`; the
 * `status` (charged credits are kept, or refunded on a 5xx); or the whole `response` (status,
 * headers and body, stored for idempotent replay).
 */
export type Settlement = "nothing" | "status" | "response";

/**
 * Run the handler, with `headers` on its response; then settle: `commit` what it answered (as
 * much as `owes` says), or `abort` with what it threw. Settles once; later calls do nothing.
 */
export interface ContinueDecision {
  readonly kind: "continue";
  readonly principal: Principal;
  readonly capability: Capability;
  /** Headers every response to this request carries (the RateLimit pair). */
  readonly headers: Readonly<Record<string, string>>;
  /** What `commit` needs from the adapter. */
  readonly owes: Settlement;
  /**
   * The handler answered: below 500 its response is stored for replay (with `owes: "response"`)
   * and the credits are kept; 500 and above releases the idempotency key and refunds the credits.
   * Resolves before the response should be sent, so that a client seeing a 5xx has its credits back.
   */
  commit(response: HandlerResponse): Promise<void>;
  /**
   * The handler threw: the problem to write instead (a `ProblemError` as its problem, anything else
   * a bare 500 `internal_error`), with `headers`. A problem below 500 is the handler's answer and is
   * committed; anything else releases the key so that a retry runs, and refunds the credits.
   */
  abort(error: unknown): Promise<WireResponse>;
}

/** What the pipeline decided. */
export type Decision = RejectDecision | ReplayDecision | ContinueDecision;

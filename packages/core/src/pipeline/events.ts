import type { RateLimitTier } from "../credentials/principal";
import type { ProblemCode } from "../problems/catalogue";

/** The stores that can fail open for one request: it was then decided without them. */
export type FailOpenStore = "credits" | "idempotency";

/** Who called, as an event may name them: never a raw key, a digest or a token. */
export type EventCredential =
  | { readonly kind: "api_key"; /** The key's 12-character display prefix (`ak_live_AB7K`). */ readonly prefix: string; readonly keyId: string }
  | { readonly kind: "oauth"; readonly clientId: string };

/** One per decision, from the pipeline: what `onDecision` is told. A fact that does not apply is an `undefined` member (one shape for every event). */
export interface DecisionEvent {
  /** `admitted` (the handler runs), `replayed` (a stored response), `refused` (a problem). */
  readonly outcome: "admitted" | "replayed" | "refused";
  /** The problem code of a refusal. */
  readonly code?: ProblemCode | undefined;
  /** The HTTP status of the answer (of the replay, of the problem; 200 stands for "the handler's" when admitted). */
  readonly status: number;
  readonly capability: string;
  /** Absent when the request was refused before its credential was known. */
  readonly tenantId?: string | undefined;
  readonly credential?: EventCredential | undefined;
  readonly tier?: RateLimitTier | undefined;
  /** The capability's cost in tokens. */
  readonly cost: number;
  /** Whole tokens left in the credential's bucket after this request, when the bucket was asked. */
  readonly remaining?: number | undefined;
  /** Credits charged for this request (0 for a replay) and the balance after, when metered and known. */
  readonly credits?: { readonly charged: number; readonly balance: number } | undefined;
  /** Stores that failed open for this request (it was decided without them); empty when none. */
  readonly failedOpen: readonly FailOpenStore[];
  /** The policy's own time for this decision, in milliseconds. */
  readonly durationMs: number;
}

/** One per settlement of an admitted request: what `onSettle` is told. */
export interface SettleEvent {
  /**
   * `kept`: the handler answered below 500, its credits kept (and its response stored for replay
   * when an Idempotency-Key was claimed: `stored`); `refunded`: a 5xx or a throw gave the credits
   * back; `released`: the idempotency key was given back for a retry (a 5xx, a throw, a stream).
   */
  readonly outcome: "kept" | "refunded" | "released";
  readonly capability: string;
  readonly tenantId: string;
  readonly status: number;
  /** True when the response was stored for idempotent replay. */
  readonly stored: boolean;
  /** Credits given back by this settlement. */
  readonly refunded: number;
}

/** Events held for a listener at most (a listener far behind drops the newest rather than grow without bound). */
const MAX_PENDING = 100_000;

/**
 * Calls a listener after the current turn, never in the request's path: a slow listener does not
 * delay the answer, and one that throws changes nothing (its error is dropped). Events are queued
 * and told in one batch per turn (one timer for many decisions).
 */
export function deferred<E>(listener: ((event: E) => void) | undefined): ((event: E) => void) | undefined {
  if (!listener) return undefined;
  let pending: E[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    for (const event of batch) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the answer was given already.
      }
    }
  };
  return (event) => {
    if (pending.length === 0) setTimeout(flush, 0);
    if (pending.length < MAX_PENDING) pending.push(event);
  };
}

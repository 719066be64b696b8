import type { Capability } from "../capabilities";
import type { CreditStore } from "../credits";
import type { Principal } from "../credentials/principal";
import { idempotencyKeyInUse, idempotencyKeyReused, idempotencyUnavailable } from "../idempotency/problems";
import { toStoredResponse } from "../idempotency/replay";
import type { IdempotencyRef, IdempotencyStore } from "../idempotency/store";
import { isProblemError } from "../problems/common";
import { internalError, type PolicyError } from "../problems/problem";
import type { AdmissionClaim } from "./admission";
import type { ContinueDecision, Decision, HandlerResponse, RejectDecision, WireResponse } from "./decision";
import type { SettleEvent } from "./events";
import type { StoreOperation } from "./options";

/** What a continuing request was charged, for its refund. */
export interface Reservation {
  /** The charge's unique id (`CreditCharge.reservation`): its refund names it. */
  readonly id: string;
  readonly credits: number;
  readonly hour: number;
  readonly grant: number;
}

/** What settling needs from the policy. */
export interface SettleOptions {
  readonly idempotency: IdempotencyStore;
  readonly credits: CreditStore | undefined;
  readonly idempotencyFailure: "closed" | "open";
  readonly ttlMs: number;
  readonly replayHeaders: readonly string[];
  readonly onStoreError: (error: unknown, operation: StoreOperation) => void;
  /** Told of each settlement, deferred (undefined without a listener). */
  readonly onSettle: ((event: SettleEvent) => void) | undefined;
  /** Renders a problem with the policy's `type` base. */
  readonly reject: (error: PolicyError, headers?: Readonly<Record<string, string>>) => RejectDecision;
}

/** One admitted request, as settling sees it. */
export interface Admitted {
  readonly principal: Principal;
  readonly capability: Capability;
  readonly headers: Readonly<Record<string, string>>;
  readonly reservation: Reservation | null;
}

/**
 * A JSON body without the named top-level members (a raw key left out of a stored replay). A
 * body that is not a JSON object is stored as an empty object rather than risk keeping a secret.
 */
export function omitMembers(body: string, members: readonly string[]): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "{}";
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return "{}";
  const kept: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const m of members) delete kept[m];
  try {
    return JSON.stringify(kept);
  } catch {
    return "{}"; // nested deeper than JSON.stringify can write (it recurses): kept out, like a non-object
  }
}

/** True when an asked-for claim has no answer: its store failed (or the admission gave none). */
export function claimFailed(claim: AdmissionClaim | undefined): claim is { readonly outcome: "unavailable"; readonly error: unknown } | undefined {
  return !claim || claim.outcome === "unavailable";
}

const RESOLVED: Promise<void> = Promise.resolve();
const settledAlready = (): Promise<void> => RESOLVED;

/**
 * The pipeline's last steps: what an idempotency claim's outcome answers (run, replay, 409, 422,
 * 503), and the `commit`/`abort` pair of a request that runs — which keeps or refunds the credits
 * and stores or releases the idempotency record, once.
 */
export function createSettlement(options: SettleOptions): {
  settleClaim(claim: AdmissionClaim | undefined, admitted: Admitted, ref: IdempotencyRef): Promise<Decision>;
  proceed(admitted: Admitted, claimed?: { readonly ref: IdempotencyRef; readonly token: string }): ContinueDecision;
} {
  const { idempotency, credits, onStoreError, reject, replayHeaders, ttlMs, onSettle } = options;

  /** The settlement event, when someone listens. */
  function settled(a: Admitted, status: number, outcome: SettleEvent["outcome"], stored: boolean, refunded: boolean): void {
    onSettle?.({ outcome, capability: a.capability.id, tenantId: a.principal.tenant_id, status, stored, refunded: refunded && a.reservation ? a.reservation.credits : 0 });
  }

  async function refund(a: Admitted): Promise<void> {
    const r = a.reservation!;
    try {
      await credits!.refund({ tenantId: a.principal.tenant_id, capability: a.capability.id, credits: r.credits, hour: r.hour, grant: r.grant, reservation: r.id });
    } catch (e) {
      onStoreError(e, "refund");
    }
  }

  /** The problem a thrown error answers, with the decision's headers. */
  function problemOf(error: unknown, headers: Readonly<Record<string, string>>): WireResponse {
    const response = reject(isProblemError(error) ? error : internalError()).response;
    return { ...response, headers: { ...headers, ...response.headers } };
  }

  async function settleClaim(claim: AdmissionClaim | undefined, a: Admitted, ref: IdempotencyRef): Promise<Decision> {
    if (claimFailed(claim)) {
      if (claim) onStoreError(claim.error, "admit");
      if (options.idempotencyFailure === "open") return proceed(a);
      if (a.reservation) {
        await refund(a); // the decision event told of the charge: this settlement tells of its refund
        settled(a, 503, "refunded", false, true);
      }
      return reject(idempotencyUnavailable(), a.headers);
    }
    switch (claim.outcome) {
      case "claimed":
        return proceed(a, { ref, token: claim.token });
      case "in_flight":
        return reject(idempotencyKeyInUse(), a.headers);
      case "mismatch":
        return reject(idempotencyKeyReused(), a.headers);
      case "completed": {
        const r = claim.response;
        return { kind: "replay", response: { status: r.status, headers: { ...r.headers, ...a.headers, "idempotent-replayed": "true" }, body: r.body } };
      }
    }
  }

  function proceed(a: Admitted, claimed?: { readonly ref: IdempotencyRef; readonly token: string }): ContinueDecision {
    const { principal, capability, headers, reservation } = a;
    if (!claimed && !reservation) {
      // Nothing to settle (the hot path of an unmetered call): no state, one closure.
      return { kind: "continue", principal, capability, headers, owes: "nothing", commit: settledAlready, abort: (error) => Promise.resolve(problemOf(error, headers)) };
    }
    let done = false;
    if (!claimed) {
      // Credits only (the metered hot path): below 500 keeps them; a 5xx or a throw refunds them. Once.
      const refundOnce = (status: number): Promise<void> => {
        if (done) return RESOLVED;
        done = true;
        settled(a, status, "refunded", false, true);
        return refund(a);
      };
      const keep = (status: number): Promise<void> => {
        if (!done) settled(a, status, "kept", false, false);
        done = true;
        return RESOLVED;
      };
      return {
        kind: "continue",
        principal,
        capability,
        headers,
        owes: "status",
        commit: (response) => (response.status >= 500 ? refundOnce(response.status) : keep(response.status)),
        async abort(error) {
          const response = problemOf(error, headers);
          if (response.status >= 500 || !isProblemError(error)) await refundOnce(response.status);
          else await keep(response.status); // the handler's own answer: the credits stay
          return response;
        },
      };
    }
    const { ref, token } = claimed;
    const release = async (): Promise<void> => {
      try {
        await idempotency.release(ref, token);
      } catch (e) {
        onStoreError(e, "release"); // the lease will expire and free the key
      }
    };
    // A failure gives the key back (so that a retry runs) and the credits (never more than charged).
    const fail = (status: number): Promise<void> => {
      settled(a, status, "released", false, true);
      return Promise.all([release(), reservation ? refund(a) : undefined]).then(() => {});
    };
    const commit = async (response: HandlerResponse): Promise<void> => {
      if (done) return;
      done = true;
      if (response.status >= 500) return fail(response.status);
      if (response.body === undefined) {
        settled(a, response.status, "released", false, false);
        return release(); // not captured (a stream): the credits stay, a retry runs
      }
      let stored = false;
      try {
        const body = capability.omitFromReplay.length ? omitMembers(response.body, capability.omitFromReplay) : response.body;
        stored = await idempotency.complete(ref, token, toStoredResponse(response.status, response.headers ?? {}, body, replayHeaders), { ttlMs });
        // Not held any more (its lease ran out and another request took the key): nothing was stored.
        if (!stored) onStoreError(new Error("the idempotency record was no longer held by this request; the response was not stored"), "complete");
      } catch (e) {
        onStoreError(e, "complete");
        settled(a, response.status, "released", false, false); // the credits stay: the handler answered
        return release();
      }
      settled(a, response.status, "kept", stored, false);
    };
    return {
      kind: "continue",
      principal,
      capability,
      headers,
      owes: "response",
      commit,
      async abort(error) {
        const response = problemOf(error, headers);
        if (response.status < 500 && isProblemError(error)) await commit(response); // the handler's answer, kept for replay
        else if (!done) {
          done = true;
          await fail(response.status);
        }
        return response;
      },
    };
  }

  return { settleClaim, proceed };
}

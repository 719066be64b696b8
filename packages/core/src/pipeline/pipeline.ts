import { randomUUID } from "node:crypto";
import { createBucketPlanner, type BucketPlan } from "../buckets/plan";
import { costExceedsCapacity, rateLimited } from "../buckets/problems";
import { createRateHeaders } from "../buckets/headers";
import type { Capability } from "../capabilities";
import { insufficientCredits } from "../credits/problems";
import { readUsage, type UsageReport } from "../credits/usage";
import type { CreditStore } from "../credits/store";
import { createAuthenticator } from "../credentials/authenticate";
import type { VerifiedKeyCache } from "../credentials/key-cache";
import type { Principal, RateLimitTier } from "../credentials/principal";
import { checkCredentialLocation } from "../credentials/transport";
import { idempotencyDemand } from "../idempotency/key";
import type { Environment, KeyHasher } from "../keys";
import { checkEnvironment } from "../keys/problems";
import { serviceUnavailable } from "../problems/common";
import { PROBLEM_CONTENT_TYPE, ProblemError, internalError, isPolicyError, problem, type PolicyError } from "../problems/problem";
import { checkScopes } from "../scopes";
import type { AdmissionRequest } from "./admission";
import type { Decision, RejectDecision } from "./decision";
import type { DecisionEvent, FailOpenStore } from "./events";
import type { ProblemCode } from "../problems/catalogue";
import { resolveOptions, type PolicyConfig, type PolicyOptions, type ResolvedStores, type StoreOperation } from "./options";
import type { PolicyRequest } from "./request";
import { claimFailed, createSettlement, type Reservation } from "./settle";

/** The policy: one `decide` per request. */
export interface Policy {
  /** Decides one request to one capability: refuse, replay, or run the handler under a decision to settle. Never rejects. */
  decide(request: PolicyRequest, capability: Capability): Promise<Decision>;
  /** Renders a problem with this policy's `type` base (for 404/405/413/415 written by adapters). */
  reject(error: PolicyError, extraHeaders?: Readonly<Record<string, string>>): RejectDecision;
  readonly environment: Environment;
  /** The stores this policy runs on, defaults filled in (`credits` undefined with `metering: false`). */
  readonly stores: ResolvedStores;
  /** The hasher that digests raw keys for `stores.keys`. */
  readonly keyHasher: KeyHasher;
  readonly keyCache: VerifiedKeyCache;
  /** The credit store calls are metered in (`stores.credits`); undefined with `metering: false`. */
  readonly credits: CreditStore | undefined;
  /** The methods on which this policy honours `Idempotency-Key` (its `idempotencyMethods` option). */
  readonly idempotencyMethods: ReadonlySet<string>;
  /**
   * `readUsage` over this policy's credit store, grant and clock: the tenant's balance and its
   * calls and credits per capability per hour over the last `hours` (24). Rejects when metering is off.
   */
  usage(tenantId: string, options?: { readonly hours?: number }): Promise<UsageReport>;
  /**
   * The first check of `decide` alone (`checkCredentialLocation` with this policy's `transport`
   * options), for answers written before `decide` runs (404, 405, 413, 415).
   */
  checkCredentialLocation(request: PolicyRequest): PolicyError | null;
}

/**
 * Builds the policy every adapter calls. The order of checks: credential location ->
 * Authorization -> credential -> environment -> scopes -> cost bucket -> Idempotency-Key ->
 * credits; the first failure answers.
 * @example
 * const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: new MemoryKeyStore() } });
 * const decision = await policy.decide(request, whoami);
 */
export function createPolicy(options: PolicyOptions): Policy {
  const config = resolveOptions(options);
  const { environment, stores, onStoreError, idempotencyMethods } = config;
  const { admission, buckets, credits } = stores;
  const reject = rejecter(config);
  const authenticate = createAuthenticator({ ...config, keyStore: stores.keys });
  const planBuckets = createBucketPlanner(config);
  const rateHeaders = createRateHeaders();
  const { settleClaim, proceed } = createSettlement({ ...config, idempotency: stores.idempotency, credits, reject });

  /** 503 `service_unavailable` for a store that failed closed, told to `onStoreError`. */
  const unavailable = (e: unknown, operation: StoreOperation, detail: string): PolicyError => {
    onStoreError(e, operation);
    return serviceUnavailable(detail);
  };

  const emitDecision = config.onDecision;
  const clockMs = typeof performance === "object" ? () => performance.now() : () => Date.now();
  /** `run`, and the decision event after it when `onDecision` listens (nothing measured otherwise). */
  const decide: Policy["decide"] = emitDecision
    ? (req, capability) => {
        const facts = new Facts(clockMs());
        const decided = run(req, capability, facts);
        // A reaction beside the caller's, registered first (so it runs first), rather than a
        // promise in between: the caller's answer is not one promise hop further away.
        decided.then((decision) => {
          try {
            emitDecision(facts.event(decision, capability, clockMs()));
          } catch {
            // The event is lost, never the answer.
          }
        }, ignore);
        return decided;
      }
    : (req, capability) => run(req, capability, undefined);

  async function run(req: PolicyRequest, capability: Capability, facts: Facts | undefined): Promise<Decision> {
    // Each store call answers its own failure (503 when it fails closed); anything else thrown
    // (a bug, a grant function) is a 500 `internal_error`, here rather than on every decision.
    try {
      let principal = authenticate(req);
      if (principal instanceof Promise) principal = await principal;
      if (isPolicyError(principal)) return reject(principal);

      const plan = planBuckets(principal);
      if (facts) ((facts.principal = principal), (facts.tier = plan.tier));
      const grant = credits ? config.grantOf(principal.tenant_id) : 0;
      const before =
        checkEnvironment(principal.auth_method === "api_key" ? principal.environment : undefined, environment) ??
        checkScopes(principal.auth_method, principal.scopes, capability.scopes) ??
        costExceedsCapacity(capability.cost, plan.limits, plan.tenant?.limits);
      if (before) return refused(reject(before, await peekHeaders(plan, grant)), principal);

      const key = idempotencyMethods.has(req.method) ? idempotencyDemand(req, capability, ownerOf(principal)) : undefined;
      const keyError = key && "error" in key ? key.error : null;
      const claim = key && "ref" in key ? key : undefined;
      const request: { -readonly [K in keyof AdmissionRequest]: AdmissionRequest[K] } = { bucket: plan.ref, cost: capability.cost, limits: plan.limits };
      if (plan.tenant) request.tenant = plan.tenant;
      if (claim) request.claim = { ref: claim.ref, fingerprint: claim.fingerprint, leaseMs: config.leaseMs };
      // A request refused for its Idempotency-Key is not charged: it only reads the balance.
      const reservationId = credits && !keyError ? randomUUID() : "";
      if (credits && !keyError) request.charge = { capability: capability.id, credits: capability.credits, grant, reservation: reservationId };
      let admitted;
      try {
        admitted = admission.admit(request); // memory stores answer at once
        if (admitted instanceof Promise) admitted = await admitted;
      } catch (e) {
        return refused(reject(unavailable(e, "admit", "The rate limiter is unavailable; retry shortly.")), principal); // nothing was taken
      }

      const { bucket, credits: charged } = admitted;
      let balance: number | undefined;
      if (charged?.outcome === "unavailable") onStoreError(charged.error, "charge"); // metering fails open: not charged
      else if (charged) balance = charged.balance;
      else if (credits && keyError) balance = await balanceOf(principal.tenant_id, grant);
      if (facts) {
        facts.remaining = bucket.remaining;
        if (balance !== undefined) facts.credits = { charged: charged?.outcome === "charged" ? charged.credits : 0, balance };
        if (charged?.outcome === "unavailable") facts.failedOpen = [...facts.failedOpen, "credits"];
        if (claim && claimFailed(admitted.claim) && config.idempotencyFailure === "open") facts.failedOpen = [...facts.failedOpen, "idempotency"];
      }
      const shared = plan.tenant && admitted.tenant ? { limits: plan.tenant.limits, result: admitted.tenant } : undefined;
      const headers = rateHeaders(plan.limits, bucket, grant, balance, shared);
      if (!bucket.allowed) return refused(reject(rateLimited(capability.cost, { limits: plan.limits, result: bucket }, shared), headers), principal);
      if (keyError) return refused(reject(keyError, headers), principal);
      if (charged?.outcome === "insufficient") return refused(reject(insufficientCredits(capability.credits, charged.balance), headers), principal);

      const reservation: Reservation | null = charged?.outcome === "charged" && charged.credits > 0 ? { id: reservationId, credits: charged.credits, hour: charged.hour, grant } : null;
      const admittedRequest = { principal, capability, headers, reservation };
      return claim ? refused(await settleClaim(admitted.claim, admittedRequest, claim.ref), principal) : proceed(admittedRequest);
    } catch (e) {
      onStoreError(e, "admit");
      return reject(internalError());
    }
  }

  /** Whose idempotency records a principal's keys name: its tenant, user and environment. */
  function ownerOf(p: Principal): { readonly tenantId: string; readonly scope: string } {
    return { tenantId: p.tenant_id, scope: `${p.user_id}:${p.auth_method === "api_key" ? p.environment : environment}` };
  }

  async function balanceOf(tenantId: string, grant: number): Promise<number | undefined> {
    try {
      return await credits!.balance(tenantId, grant);
    } catch (e) {
      onStoreError(e, "charge");
      return undefined;
    }
  }

  /** RateLimit headers for an authenticated request refused before the bucket: a cost-0 read. */
  async function peekHeaders(plan: BucketPlan, grant: number): Promise<Readonly<Record<string, string>> | undefined> {
    const balance = credits ? balanceOf(plan.ref.tenantId, grant) : undefined;
    try {
      const { tenant } = plan;
      if (!tenant) return rateHeaders(plan.limits, await buckets.consume(plan.ref, 0, plan.limits), grant, await balance);
      const [own, shared] = await Promise.all([buckets.consume(plan.ref, 0, plan.limits), buckets.consume(tenant.ref, 0, tenant.limits)]);
      return rateHeaders(plan.limits, own, grant, await balance, { limits: tenant.limits, result: shared });
    } catch (e) {
      onStoreError(e, "peek");
      return undefined;
    }
  }

  return {
    decide,
    reject,
    environment,
    stores,
    keyHasher: config.keyHasher,
    keyCache: config.keyCache,
    credits,
    idempotencyMethods: config.idempotencyMethods,
    async usage(tenantId, o) {
      if (!credits) throw new TypeError("policy.usage: metering is off (`metering: false`)");
      const read = { grant: config.grantOf(tenantId), clock: config.clock, ...(o?.hours === undefined ? {} : { hours: o.hours }) };
      try {
        return await readUsage(credits, tenantId, read);
      } catch (e) {
        if (e instanceof TypeError) throw e; // a bad argument is the caller's bug: 500
        const { code, detail, headers } = unavailable(e, "usage", "Usage cannot be read right now; retry shortly.");
        throw new ProblemError(code, detail, undefined, headers);
      }
    },
    checkCredentialLocation: (req) => checkCredentialLocation(req, config.transport),
  };
}

const NO_STORE_FAILED: readonly FailOpenStore[] = Object.freeze([]);

/**
 * What a decision event reports beyond the decision itself, gathered only when someone listens.
 * A class and one object literal of a fixed shape: the event is built on every decision.
 */
class Facts {
  principal: Principal | undefined = undefined;
  tier: RateLimitTier | undefined = undefined;
  remaining: number | undefined = undefined;
  credits: { readonly charged: number; readonly balance: number } | undefined = undefined;
  failedOpen: readonly FailOpenStore[] = NO_STORE_FAILED;
  constructor(readonly startMs: number) {}

  /** The event of the decision (absent facts are `undefined` members). */
  event(decision: Decision, capability: Capability, endMs: number): DecisionEvent {
    const p = this.principal;
    const kind = decision.kind;
    const event: DecisionEvent = {
      outcome: kind === "continue" ? "admitted" : kind === "replay" ? "replayed" : "refused",
      code: kind === "reject" ? (decision.problem.code as ProblemCode) : undefined,
      status: kind === "continue" ? 200 : decision.response.status,
      capability: capability.id,
      tenantId: p?.tenant_id,
      credential: p === undefined ? undefined : p.auth_method === "api_key" ? { kind: "api_key", prefix: p.api_key_prefix, keyId: p.api_key_id } : { kind: "oauth", clientId: p.client_id },
      tier: this.tier,
      cost: capability.cost,
      remaining: this.remaining,
      credits: this.credits,
      failedOpen: this.failedOpen,
      durationMs: endMs - this.startMs,
    };
    return event;
  }
}

const ignore = (): void => {}; // `run` never rejects; were it to, the caller sees it on its own promise

/** A refusal or a replay after authentication, with who it answered (`RejectDecision.principal`). */
function refused(decision: Decision, principal: Principal): Decision {
  return decision.kind === "continue" ? decision : { ...decision, principal };
}

/** The policy's `reject`: a problem body with the policy's `type` base, as the response to write. */
function rejecter(config: Pick<PolicyConfig, "problemOptions">): Policy["reject"] {
  return (error, extraHeaders) => {
    const body = problem(error.code, error.detail, error.extensions, config.problemOptions);
    return {
      kind: "reject",
      problem: body,
      response: { status: body.status, headers: { ...extraHeaders, ...error.headers, "content-type": PROBLEM_CONTENT_TYPE }, body: JSON.stringify(body) },
    };
  };
}

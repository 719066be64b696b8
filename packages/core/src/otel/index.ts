/**
 * `@alloovium/core/otel`: the policy's decisions as OpenTelemetry metrics and span attributes.
 * A subpath of its own so that `@alloovium/core` loads, and records nothing, without the optional
 * peer `@opentelemetry/api`: only this entry point imports it.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, metrics, trace, type Attributes, type MeterProvider, type ObservableResult, type Span, type Tracer, type TracerProvider } from "@opentelemetry/api";
import type { Decision, DecisionEvent, Policy, PolicyOptions, PolicyStores, SettleEvent, StoreOperation } from "../pipeline";
import { createPolicy } from "../pipeline";

/** The instruments' names, as OpenTelemetry names them (Prometheus: dots become `_`, counters end `_total`, seconds `_seconds`). */
export const POLICY_METRICS = {
  /** Counter, `{decision}`: `outcome`, `code` (refusals), `capability`, `tier` (once authenticated), `tenant` (opt-in). */
  decisions: "alloovium.policy.decisions",
  /** Histogram, `s`: the policy's own time per decision; `outcome` and `capability` with `durationAttributes`. */
  duration: "alloovium.policy.duration",
  /** Counter, `{error}`: store failures by `store` and `operation` (`StoreOperation`). */
  storeErrors: "alloovium.policy.store.errors",
  /** Counter, `{decision}`: decisions taken without a store that failed open, by `store` (`credits`, `idempotency`). */
  failedOpen: "alloovium.policy.failed_open",
  /** Counter, `{credit}`: credits charged, by `capability` (and `tenant`, opt-in). */
  creditsCharged: "alloovium.policy.credits.charged",
  /** Counter, `{credit}`: credits refunded by a 5xx or a throw, by `capability` (and `tenant`, opt-in). */
  creditsRefunded: "alloovium.policy.credits.refunded",
  /** Counter, `{settlement}`: settlements of admitted requests by `outcome` (`kept`, `refunded`, `released`) and `capability`. */
  settlements: "alloovium.policy.settlements",
} as const;

/** The attributes set on the active span (the user's HTTP server span) when a decision is taken. */
export const POLICY_SPAN_ATTRIBUTES = {
  capability: "alloovium.policy.capability",
  outcome: "alloovium.policy.outcome",
  code: "alloovium.policy.code",
} as const;

/**
 * Bucket boundaries of `alloovium.policy.duration`, in seconds: 10 µs to 1 s (a memory decision
 * takes a few µs, a Redis round trip about a millisecond, a slow store more).
 */
export const POLICY_DURATION_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Options of `createInstrumentedPolicy`. */
export interface PolicyTelemetryOptions {
  /** Where the instruments are created. @default metrics.getMeterProvider() (the global one; a no-op until an SDK registers) */
  readonly meterProvider?: MeterProvider;
  /** Where store spans are started (`storeSpans`). @default trace.getTracerProvider() */
  readonly tracerProvider?: TracerProvider;
  /**
   * Adds the `tenant` attribute (the tenant id) to the decision and credit counters. Off by
   * default: one series per tenant can be more than a metrics backend should hold. @default false
   */
  readonly tenantIds?: boolean;
  /**
   * A child span per store call (`alloovium.store buckets.consume`, ...) of the stores given in
   * `stores` (memory stores the policy fills in for ones left out are not traced). @default false
   */
  readonly storeSpans?: boolean;
  /**
   * Adds `outcome` and `capability` to `alloovium.policy.duration`. Off by default: the SDK
   * hashes every record's attributes, which costs about a third of a memory decision more.
   * @default false
   */
  readonly durationAttributes?: boolean;
  /** Sets `alloovium.policy.capability`, `.outcome` and `.code` on the active span of each decision. @default true */
  readonly spanAttributes?: boolean;
}

/** Which store an operation told to `onStoreError` is a call to. */
const STORE_OF: Record<StoreOperation, string> = {
  lookup: "keys",
  touch: "keys",
  admit: "admission",
  peek: "buckets",
  charge: "credits",
  refund: "credits",
  usage: "credits",
  complete: "idempotency",
  release: "idempotency",
};

const OUTCOME = { continue: "admitted", replay: "replayed", reject: "refused" } as const;

/**
 * `createPolicy`, with its decisions recorded through OpenTelemetry: the `POLICY_METRICS`
 * instruments (fed from `onDecision`, `onSettle` and `onStoreError`, after the answer; your own
 * listeners in `options` are still called), the `POLICY_SPAN_ATTRIBUTES` on the active span (your
 * HTTP instrumentation's `{method} {http.route}` span), and with `storeSpans` a span per store call.
 * Counters are kept in the policy and read when the SDK collects, so a decision costs a map
 * update and one histogram record.
 * @example
 * import { createInstrumentedPolicy } from "@alloovium/core/otel";
 * const policy = createInstrumentedPolicy({ environment: "live", keyHasher, stores }, { storeSpans: true });
 */
export function createInstrumentedPolicy(options: PolicyOptions, telemetry: PolicyTelemetryOptions = {}): Policy {
  if (!telemetry || typeof telemetry !== "object") throw new TypeError("createInstrumentedPolicy: `telemetry` must be an object");
  const meter = (telemetry.meterProvider ?? metrics.getMeterProvider()).getMeter("@alloovium/core");
  const tenantIds = telemetry.tenantIds === true;

  const decisions = new Tally();
  const storeErrors = new Tally();
  const failedOpen = new Tally();
  const charged = new Tally();
  const refunded = new Tally();
  const settlements = new Tally();
  const counter = (name: string, unit: string, description: string, tally: Tally) =>
    meter.createObservableCounter(name, { unit, description }).addCallback((result) => tally.report(result));
  counter(POLICY_METRICS.decisions, "{decision}", "Decisions of the API policy, by outcome, problem code, capability and tier.", decisions);
  counter(POLICY_METRICS.storeErrors, "{error}", "Store failures seen by the API policy, by store and operation.", storeErrors);
  counter(POLICY_METRICS.failedOpen, "{decision}", "Decisions taken without a store that failed open, by store.", failedOpen);
  counter(POLICY_METRICS.creditsCharged, "{credit}", "Credits charged by the API policy.", charged);
  counter(POLICY_METRICS.creditsRefunded, "{credit}", "Credits refunded after a 5xx or a throw.", refunded);
  counter(POLICY_METRICS.settlements, "{settlement}", "Settlements of admitted requests, by outcome.", settlements);
  const duration = meter.createHistogram(POLICY_METRICS.duration, {
    unit: "s",
    description: "The API policy's own time per decision.",
    advice: { explicitBucketBoundaries: [...POLICY_DURATION_BUCKETS] },
  });

  const byOutcome = telemetry.durationAttributes === true ? new Map<string, Attributes>() : undefined;
  const onDecision = (e: DecisionEvent) => {
    const tenant = tenantIds ? (e.tenantId ?? "") : "";
    // A refusal's code names its outcome; the others have none.
    decisions.add(e.capability, e.code ?? e.outcome, e.tier ?? "", tenant, 1, decisionAttrs, e, tenantIds);
    // Without attributes unless asked: the SDK hashes a record's attributes, most of its cost.
    if (byOutcome) {
      const key = `${e.outcome}\u0000${e.capability}`;
      let attrs = byOutcome.get(key);
      if (!attrs) byOutcome.set(key, (attrs = { outcome: e.outcome, capability: e.capability }));
      duration.record(e.durationMs / 1000, attrs, ROOT_CONTEXT);
    } else duration.record(e.durationMs / 1000, NO_ATTRIBUTES, ROOT_CONTEXT);
    const failed = e.failedOpen;
    for (let i = 0; i < failed.length; i++) failedOpen.add(failed[i]!, "", "", "", 1, storeAttrs, failed[i]!, false);
    if (e.credits && e.credits.charged > 0) charged.add(e.capability, tenant, "", "", e.credits.charged, chargeAttrs, e, tenantIds);
  };
  const onSettle = (e: SettleEvent) => {
    settlements.add(e.capability, e.outcome, "", "", 1, settleAttrs, e, false);
    if (e.refunded > 0) refunded.add(e.capability, tenantIds ? e.tenantId : "", "", "", e.refunded, refundAttrs, e, tenantIds);
  };
  const onStoreError = (error: unknown, operation: StoreOperation) => {
    storeErrors.add(operation, "", "", "", 1, errorAttrs, operation, false);
    options.onStoreError?.(error, operation);
  };

  const theirs = { decision: options.onDecision, settle: options.onSettle };
  for (const [name, f] of [["onDecision", theirs.decision], ["onSettle", theirs.settle], ["onStoreError", options.onStoreError]] as const) {
    if (f !== undefined && typeof f !== "function") throw new TypeError(`createPolicy: \`${name}\` must be a function`); // as createPolicy would say
  }
  const policy = createPolicy({
    ...options,
    stores: telemetry.storeSpans ? tracedStores(options.stores, (telemetry.tracerProvider ?? trace.getTracerProvider()).getTracer("@alloovium/core")) : options.stores,
    onDecision: theirs.decision ? (e) => (onDecision(e), theirs.decision!(e)) : onDecision,
    onSettle: theirs.settle ? (e) => (onSettle(e), theirs.settle!(e)) : onSettle,
    onStoreError,
  });
  if (telemetry.spanAttributes === false) return policy;
  const decide = policy.decide;
  return {
    ...policy,
    // The active span is the request's only while `decide` runs in its context (events come later).
    decide(request, capability) {
      const span = trace.getActiveSpan();
      if (!span || !span.isRecording()) return decide(request, capability);
      return decide(request, capability).then((decision) => (annotate(span, decision, capability.id), decision));
    },
  };
}

const NO_ATTRIBUTES: Attributes = Object.freeze({});

// The attributes of a new series, built once per series (module functions: no closure per event).
function decisionAttrs(e: DecisionEvent, tenantIds: boolean): Attributes {
  const a: Attributes = { outcome: e.outcome, capability: e.capability };
  if (e.code) a["code"] = e.code;
  if (e.tier) a["tier"] = e.tier;
  if (tenantIds && e.tenantId !== undefined) a["tenant"] = e.tenantId;
  return a;
}
const storeAttrs = (store: string): Attributes => ({ store });
const errorAttrs = (operation: StoreOperation): Attributes => ({ store: STORE_OF[operation] ?? "unknown", operation });
const chargeAttrs = (e: DecisionEvent, tenantIds: boolean): Attributes => creditAttrs(e.capability, tenantIds ? e.tenantId : undefined);
const settleAttrs = (e: SettleEvent): Attributes => ({ outcome: e.outcome, capability: e.capability });
const refundAttrs = (e: SettleEvent, tenantIds: boolean): Attributes => creditAttrs(e.capability, tenantIds ? e.tenantId : undefined);
function creditAttrs(capability: string, tenant: string | undefined): Attributes {
  return tenant === undefined ? { capability } : { capability, tenant };
}

function annotate(span: Span, decision: Decision, capability: string): void {
  span.setAttribute(POLICY_SPAN_ATTRIBUTES.capability, capability);
  span.setAttribute(POLICY_SPAN_ATTRIBUTES.outcome, OUTCOME[decision.kind]);
  if (decision.kind === "reject") span.setAttribute(POLICY_SPAN_ATTRIBUTES.code, decision.problem.code);
}

interface Sum {
  readonly attributes: Attributes;
  value: number;
}
type Level<T> = Map<string, T>;

/**
 * Cumulative sums per attribute set, reported to an observable counter when the SDK collects.
 * Found by up to four strings in nested maps rather than one joined key: the strings (a
 * capability id, a problem code, a tier) are the same objects each time, with their hashes
 * cached, where a joined key would be built and hashed on every decision.
 */
class Tally {
  private readonly root: Level<Level<Level<Level<Sum>>>> = new Map();
  private readonly sums: Sum[] = [];
  add<T>(k1: string, k2: string, k3: string, k4: string, n: number, attributes: (of: T, tenantIds: boolean) => Attributes, of: T, tenantIds: boolean): void {
    let l1 = this.root.get(k1);
    if (!l1) this.root.set(k1, (l1 = new Map()));
    let l2 = l1.get(k2);
    if (!l2) l1.set(k2, (l2 = new Map()));
    let l3 = l2.get(k3);
    if (!l3) l2.set(k3, (l3 = new Map()));
    let sum = l3.get(k4);
    if (!sum) {
      l3.set(k4, (sum = { attributes: attributes(of, tenantIds), value: 0 }));
      this.sums.push(sum);
    }
    sum.value += n;
  }
  report(result: ObservableResult): void {
    for (const { attributes, value } of this.sums) result.observe(value, attributes);
  }
}

const STORE_NAMES = ["keys", "buckets", "idempotency", "credits", "admission"] as const;

/** The given stores behind proxies that start a span per method call (an admission's `credits` is the traced credit store). */
function tracedStores(stores: PolicyStores, tracer: Tracer): PolicyStores {
  if (!stores || typeof stores !== "object") return stores; // createPolicy names the problem
  const proxies = new Map<object, object>();
  const out: Record<string, unknown> = { ...stores }; // any other member the stores object carries, as it is
  for (const name of STORE_NAMES) {
    const store = stores[name];
    if (store && typeof store === "object") proxies.set(store, traced(store, name, tracer, proxies));
  }
  for (const name of STORE_NAMES) if (stores[name] !== undefined) out[name] = proxies.get(stores[name] as object) ?? stores[name];
  return out as unknown as PolicyStores;
}

function traced<T extends object>(store: T, name: string, tracer: Tracer, proxies: ReadonlyMap<object, object>): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return (value && typeof value === "object" && proxies.get(value)) || value;
      if (property === "constructor") return value;
      let fn = wrapped.get(property);
      if (!fn) {
        const span = `alloovium.store ${name}.${String(property)}`;
        const method = value as (...args: unknown[]) => unknown;
        fn = function (...args: unknown[]) {
          return tracer.startActiveSpan(span, { kind: SpanKind.INTERNAL, attributes: { "alloovium.store": name, "alloovium.store.operation": String(property) } }, (s) => {
            try {
              const result = method.apply(target, args);
              if (result instanceof Promise) return result.then((v: unknown) => (s.end(), v), (e: unknown) => failed(s, e));
              s.end();
              return result;
            } catch (e) {
              return failed(s, e);
            }
          });
        };
        wrapped.set(property, fn);
      }
      return fn;
    },
  });
}

function failed(span: Span, error: unknown): never {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus(error instanceof Error ? { code: SpanStatusCode.ERROR, message: error.message } : { code: SpanStatusCode.ERROR });
  span.end();
  throw error;
}

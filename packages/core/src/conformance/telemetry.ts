import { createRequire } from "node:module";
import type { Attributes, MeterProvider, TracerProvider } from "@opentelemetry/api";

/** One data point of a collected metric: its attributes and its value (a sum, or a histogram's count and sum). */
export interface CollectedPoint {
  readonly attributes: Attributes;
  readonly value: number;
  /** Histograms: how many values, their sum and the bucket boundaries. */
  readonly histogram?: { readonly count: number; readonly sum: number; readonly boundaries: readonly number[] };
}

/** A collected metric. */
export interface CollectedMetric {
  readonly unit: string;
  readonly points: readonly CollectedPoint[];
}

/** A finished span, as the in-memory exporter holds it. */
export interface CollectedSpan {
  readonly name: string;
  /** `SpanKind`: 0 internal, 1 server, 2 client. */
  readonly kind: number;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly status: { readonly code: number };
}

/**
 * The OpenTelemetry SDK wired to in-memory exporters: a meter provider (cumulative sums), a
 * tracer provider, and, with `http`, Node's HTTP server instrumentation (a `SERVER` span active
 * around each request, as a user's `@opentelemetry/instrumentation-http` makes one). Registers
 * the global context manager and tracer provider until `close`.
 */
export interface TelemetryRig {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  /** Collects every instrument now, by name. */
  metrics(): Promise<ReadonlyMap<string, CollectedMetric>>;
  /** The spans finished so far. */
  spans(): readonly CollectedSpan[];
  close(): Promise<void>;
}

const PACKAGES = ["@opentelemetry/api", "@opentelemetry/sdk-metrics", "@opentelemetry/sdk-trace-base", "@opentelemetry/context-async-hooks", "@opentelemetry/instrumentation-http"];

/**
 * True on Node when the SDK packages the rig needs resolve from here (the telemetry part of the
 * adapter suite runs only then): Node's HTTP instrumentation patches `node:http` through
 * CommonJS require hooks, which Bun and Deno do not run.
 */
export function telemetrySdkInstalled(): boolean {
  if ("bun" in process.versions || typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") return false;
  const require = createRequire(import.meta.url);
  try {
    for (const p of PACKAGES) require.resolve(p);
    return true;
  } catch {
    return false;
  }
}

/** Where the process's one HTTP instrumentation is kept (across test files' module registries). */
const HTTP_INSTRUMENTATION = Symbol.for("alloovium.conformance.httpInstrumentation");

/**
 * The process's one `HttpInstrumentation`, made on first use, as a user's process has one. A
 * second instance would never patch `http`: the instrumentation hooks `require` through one
 * process-wide require-in-the-middle hook, which calls its listeners only the first time a
 * module is required and hands back the cached exports afterwards, so an instance made after
 * `http` was loaded (by an earlier rig in the same file: a second harness's suite) is never told
 * of it and records no server span. The same instance, disabled and enabled again, patches the
 * exports it was given the first time.
 */
async function httpInstrumentation(): Promise<import("@opentelemetry/instrumentation-http").HttpInstrumentation> {
  const holder = globalThis as { [HTTP_INSTRUMENTATION]?: import("@opentelemetry/instrumentation-http").HttpInstrumentation };
  if (holder[HTTP_INSTRUMENTATION] === undefined) {
    const { HttpInstrumentation } = await import("@opentelemetry/instrumentation-http");
    const instrumentation = new HttpInstrumentation({ disableOutgoingRequestInstrumentation: true, enabled: false });
    holder[HTTP_INSTRUMENTATION] ??= instrumentation;
  }
  return holder[HTTP_INSTRUMENTATION];
}

/** Starts the rig (see `TelemetryRig`). */
export async function startTelemetryRig(options: { readonly http?: boolean } = {}): Promise<TelemetryRig> {
  const api = await import("@opentelemetry/api");
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import("@opentelemetry/sdk-metrics");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");

  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when asked (`forceFlush`): the interval is longer than any test.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  api.context.setGlobalContextManager(contextManager);
  api.trace.setGlobalTracerProvider(tracerProvider);

  let http: { disable(): void } | undefined;
  if (options.http) {
    const instrumentation = await httpInstrumentation();
    instrumentation.setTracerProvider(tracerProvider);
    instrumentation.enable();
    // The instrumentation patches `http` when it is required (the first time) or when it is
    // enabled again; ESM and CommonJS share one `http.Server.prototype`, so every server in this
    // process (any framework) is instrumented.
    createRequire(import.meta.url)("node:http");
    createRequire(import.meta.url)("http");
    http = instrumentation;
  }

  return {
    meterProvider,
    tracerProvider,
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      const out = new Map<string, CollectedMetric>();
      for (const resource of metricExporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const m of scope.metrics) {
            const points = m.dataPoints.map((p): CollectedPoint => {
              const v = p.value as number | { count: number; sum?: number; buckets: { boundaries: number[] } };
              return typeof v === "number"
                ? { attributes: p.attributes, value: v }
                : { attributes: p.attributes, value: v.count, histogram: { count: v.count, sum: v.sum ?? 0, boundaries: v.buckets.boundaries } };
            });
            out.set(m.descriptor.name, { unit: m.descriptor.unit, points });
          }
        }
      }
      return out;
    },
    spans: () =>
      spanExporter.getFinishedSpans().map((s) => ({
        name: s.name,
        kind: s.kind,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        attributes: s.attributes,
        status: s.status,
      })),
    async close() {
      http?.disable();
      api.trace.disable();
      api.context.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    },
  };
}

/** The value of the point whose attributes are exactly `attributes` (0 when there is none). */
export function pointValue(metric: CollectedMetric | undefined, attributes: Attributes): number {
  const want = JSON.stringify(Object.entries(attributes).sort());
  return metric?.points.find((p) => JSON.stringify(Object.entries(p.attributes).sort()) === want)?.value ?? 0;
}

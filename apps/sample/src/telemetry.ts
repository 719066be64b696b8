import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MeterProvider as MeterProviderApi } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from "@opentelemetry/sdk-metrics";

/** Where the sample's metrics go: Prometheus, OTLP, or both. */
export interface MetricsOptions {
  /** Serves `GET /metrics` (Prometheus text) on this port of `host`; 0 = any free port. */
  readonly prometheusPort?: number;
  /** Pushes OTLP/HTTP (JSON) to `<endpoint>/v1/metrics`, as OTEL_EXPORTER_OTLP_ENDPOINT names it. */
  readonly otlpEndpoint?: string;
  /** How often OTLP pushes, in milliseconds (OTEL_METRIC_EXPORT_INTERVAL). @default 60000 */
  readonly otlpIntervalMs?: number;
}

export interface RunningMetrics {
  readonly meterProvider: MeterProviderApi;
  /** `http://host:port/metrics`, when Prometheus is on. */
  readonly prometheusUrl?: string;
  /** Pushes what is left (OTLP) and stops the /metrics server. */
  close(): Promise<void>;
}

/** The OpenTelemetry SDK's meter provider with the readers asked for (the caller starts it only when one is). */
export async function startMetrics(options: MetricsOptions, host: string): Promise<RunningMetrics> {
  const readers: MetricReader[] = [];
  let server: Server | undefined;
  let prometheusUrl: string | undefined;
  if (options.prometheusPort !== undefined) {
    // Our own server rather than the exporter's: it listens on HOST and may take port 0.
    const prometheus = new PrometheusExporter({ preventServerStart: true });
    readers.push(prometheus);
    server = createServer((req, res) => {
      if ((req.url ?? "").split("?")[0] === "/metrics" && (req.method === "GET" || req.method === "HEAD")) return prometheus.getMetricsRequestHandler(req, res);
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: the metrics are at /metrics\n");
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject).listen(options.prometheusPort, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    prometheusUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`;
  }
  if (options.otlpEndpoint !== undefined) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, "")}/v1/metrics`;
    readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url }), exportIntervalMillis: options.otlpIntervalMs ?? 60_000 }));
  }
  const meterProvider = new MeterProvider({ readers });
  return {
    meterProvider,
    ...(prometheusUrl === undefined ? {} : { prometheusUrl }),
    async close() {
      await meterProvider.shutdown().catch(() => {}); // an unreachable collector must not fail the shutdown
      if (server) {
        await new Promise<void>((resolve) => {
          server!.close(() => resolve());
          server!.closeAllConnections();
        });
      }
    },
  };
}

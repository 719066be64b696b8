/**
 * The sample's metrics: Prometheus text on a port of its own, and OTLP/HTTP pushed to a
 * collector (here a tiny local receiver), with the policy's instruments among them.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FRAMEWORKS, startServer, type RunningServer } from "../src/server";

const running: RunningServer[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});
const told = () => new Promise((resolve) => setTimeout(resolve, 20)); // the policy counts after the answer

describe.each(FRAMEWORKS)("metrics on %s", (framework) => {
  it("serves alloovium_policy_decisions_total with outcome, code, capability and tier, and the duration, at /metrics", async () => {
    const server = await startServer({ framework, port: 0, log: () => {}, pepper: "telemetry-test-pepper-0123", metrics: { prometheusPort: 0 } });
    running.push(server);
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const auth = { authorization: `Bearer ${server.demoKey}` };
    for (let i = 0; i < 2; i++) expect((await fetch(`${server.url}/api/v2/me`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${server.url}/api/v2/me`)).status).toBe(401);
    await told();
    const res = await fetch(server.metricsUrl!);
    expect(res.status).toBe(200);
    const text = await res.text();
    const sample = (name: string, labels: string) => new RegExp(`^${name}\\{${labels},otel_scope_name="@alloovium/core"\\} (\\S+)$`, "m").exec(text)?.[1];
    expect(sample("alloovium_policy_decisions_total", 'outcome="admitted",capability="meta.whoami",tier="standard"')).toBe("2");
    expect(sample("alloovium_policy_decisions_total", 'outcome="refused",capability="meta.whoami",code="missing_credentials"')).toBe("1");
    expect(text).toContain("# UNIT alloovium_policy_duration s");
    expect(/^alloovium_policy_duration_count\{otel_scope_name="@alloovium\/core"\} 3$/m.test(text)).toBe(true);
    expect((await fetch(server.metricsUrl!.replace("/metrics", "/other"))).status).toBe(404);
  });
});

describe("OTLP export", () => {
  it("pushes the policy's metrics to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/metrics", async () => {
    const posts: { path: string; type: string; body: string }[] = [];
    const receiver = createServer(async (req: IncomingMessage, res) => {
      let body = "";
      for await (const chunk of req) body += String(chunk);
      posts.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      const server = await startServer({ framework: "hono", port: 0, log: () => {}, pepper: "telemetry-test-pepper-0123", metrics: { otlpEndpoint: endpoint, otlpIntervalMs: 60_000 } });
      expect(server.metricsUrl).toBeUndefined();
      expect((await fetch(`${server.url}/api/v2/me`, { headers: { authorization: `Bearer ${server.demoKey}` } })).status).toBe(200);
      await told();
      await server.close(); // shutting down pushes what the interval has not
      const pushed = posts.find((p) => p.body.includes("alloovium.policy.decisions"));
      expect(pushed, `POSTs received: ${posts.map((p) => p.path).join(", ")}`).toBeDefined();
      expect(pushed!.path).toBe("/v1/metrics");
      expect(pushed!.type).toContain("application/json");
      const metrics = JSON.parse(pushed!.body).resourceMetrics.flatMap((r: any) => r.scopeMetrics.flatMap((s: any) => s.metrics));
      const decisions = metrics.find((m: any) => m.name === "alloovium.policy.decisions");
      expect(decisions.unit).toBe("{decision}");
      const attrs = (p: any) => Object.fromEntries(p.attributes.map((a: any) => [a.key, a.value.stringValue]));
      expect(decisions.sum.dataPoints.map(attrs)).toContainEqual({ outcome: "admitted", capability: "meta.whoami", tier: "standard" });
      expect(metrics.find((m: any) => m.name === "alloovium.policy.duration").unit).toBe("s");
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { defineCapability } from "../capabilities";
import type { ContinueDecision } from "../pipeline";
import { createTestPolicy } from "../testing";
import { settleNodeResponse } from "./node-response";

const create = defineCapability({ id: "things.create", method: "POST", path: "/things", cost: 1, credits: 2, idempotent: true });

/** A Node server whose handler runs behind a decision for `idempotency-key`, with `settleNodeResponse` around its response. */
async function serve(handler: (res: ServerResponse, req: IncomingMessage) => Promise<void> | void) {
  const t = createTestPolicy({ creditGrant: 100 });
  const { key, record } = await t.mintKey();
  let runs = 0;
  const server = createServer(async (req, res) => {
    const d = await t.call(create, { key, idempotencyKey: String(req.headers["idempotency-key"]) });
    if (d.kind !== "continue") {
      res.statusCode = d.response.status;
      for (const [n, v] of Object.entries(d.response.headers)) res.setHeader(n, v);
      return void res.end(d.response.body);
    }
    runs++;
    settleNodeResponse(res, d as ContinueDecision);
    await handler(res, req);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/things`;
  return {
    url,
    runs: () => runs,
    balance: async () => (await t.policy.usage(record.tenant_id)).balance,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("settleNodeResponse", () => {
  it("keeps the callbacks of write and end when it buffers the whole response: a handler awaiting them goes on", async () => {
    const seen: string[] = [];
    const s = await serve(async (res) => {
      res.statusCode = 201;
      res.setHeader("content-type", "application/json");
      await new Promise<void>((resolve) => res.write('{"a":', () => resolve()));
      seen.push("written");
      await new Promise<void>((resolve) => res.end("1}", () => resolve()));
      seen.push("ended");
    });
    const post = () => fetch(s.url, { method: "POST", headers: { "idempotency-key": "callbacks-1" } });
    const first = await post();
    expect(first.status).toBe(201);
    expect(await first.text()).toBe('{"a":1}');
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(["written", "ended"]);
    const replay = await post();
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe('{"a":1}');
    await s.close();
  });

  it("keeps the key in flight while the handler runs on after its client left, then stores the answer it ends with", async () => {
    let handling!: () => void;
    const started = new Promise<void>((resolve) => (handling = resolve));
    let finish!: () => void;
    const later = new Promise<void>((resolve) => (finish = resolve));
    const s = await serve(async (res) => {
      handling();
      await later; // still working after the client has gone
      res.statusCode = 201;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ run: s.runs() }));
    });
    // A client that leaves mid-request.
    const r = httpRequest(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } });
    r.on("error", () => {});
    r.end();
    await started;
    r.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the close
    const during = await fetch(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } });
    expect(during.status).toBe(409); // in flight: the handler is still running
    await during.text();
    finish();
    let replay = await fetch(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } });
    for (let i = 0; i < 50 && replay.status === 409; i++) {
      await replay.text();
      await new Promise((resolve) => setTimeout(resolve, 20));
      replay = await fetch(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } });
    }
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.json()).toEqual({ run: 1 });
    expect(s.runs()).toBe(1); // the handler ran once
    await s.close();
  });
});

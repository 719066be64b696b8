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

  it("settles a response that closes before it ends (the client gone): the key is given back, nothing stored", async () => {
    let handling!: () => void;
    const started = new Promise<void>((resolve) => (handling = resolve));
    let calls = 0;
    const s = await serve(async (res) => {
      res.statusCode = 201;
      if (calls++ > 0) return void res.end("whole");
      res.write("partial"); // buffered: this response never ends
      handling();
    });
    // A client that leaves mid-response.
    const r = httpRequest(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } });
    r.on("error", () => {});
    r.end();
    await started;
    r.destroy();
    let retry = await fetch(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } }).catch(() => undefined);
    for (let i = 0; i < 50 && (!retry || retry.status === 409); i++) {
      await new Promise((r) => setTimeout(r, 20));
      retry = await fetch(s.url, { method: "POST", headers: { "idempotency-key": "gone-1" } }).catch(() => undefined);
    }
    expect(retry?.status).toBe(201);
    expect(retry?.headers.get("idempotent-replayed")).toBeNull();
    expect(await retry?.text()).toBe("whole");
    expect(s.runs()).toBe(2); // ran again, not replayed
    await s.close();
  });
});

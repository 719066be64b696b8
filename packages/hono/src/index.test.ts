import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { createTestPolicy } from "@alloovium/core/testing";
import { adapterConformance, adapterSuiteCapabilities, type AdapterApp } from "@alloovium/core/conformance";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { harnessApp } from "./conformance-app";
import { alloovium, type AllooviumEnv } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

function listening(server: Server): Promise<AdapterApp> {
  return new Promise<void>((r) => server.listen(0, "127.0.0.1", r)).then(() => ({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }));
}

// The shared adapter suite (packages/core/src/conformance/adapter.ts) over this framework's app,
// on @hono/node-server (the adapter reads the Node request in `c.env.incoming`).
adapterConformance("@alloovium/hono", (policy, capabilities, bodyLimitBytes) => {
  return listening(createAdaptorServer({ fetch: harnessApp(policy, capabilities, bodyLimitBytes).fetch }) as Server);
});

/**
 * `app.fetch` behind the smallest Request-in, Response-out server, as Bun.serve and Deno.serve
 * call it: repeated headers joined into one value by `Headers`, no body on GET and HEAD, no
 * `c.env`. The adapter reads only the Fetch `Request` (`c.req.raw`).
 */
function fetchServer(fetch: (request: Request) => Response | Promise<Response>): Server {
  return createServer((req, res) => {
    void (async () => {
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
      const method = req.method ?? "GET";
      const body = method === "GET" || method === "HEAD" ? null : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
      const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { method, headers, body, duplex: "half" } as RequestInit);
      const response = await fetch(request);
      res.writeHead(response.status, [...response.headers].flat());
      res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
    })().catch((error: unknown) => {
      // Not a hang: a bare 500, and the test that sent the request fails (see afterEach).
      fetchServerErrors.push(error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}

/** What `fetchServer`'s `fetch` threw or rejected with; every test leaves it empty. */
const fetchServerErrors: unknown[] = [];
afterEach(() => {
  expect(fetchServerErrors.splice(0), "fetchServer: the app's fetch failed").toEqual([]);
});

describe("fetchServer (the Fetch test server)", () => {
  it("answers a bare 500 when the app's fetch rejects, and records the error", async () => {
    const app = await listening(fetchServer(() => Promise.reject(new Error("boom"))));
    try {
      expect((await globalThis.fetch(`${app.url}/x`)).status).toBe(500);
      expect(fetchServerErrors.splice(0).map((e) => (e as Error).message)).toEqual(["boom"]);
    } finally {
      await app.close();
    }
  });
});

adapterConformance(
  "@alloovium/hono on the Web-standard path (app.fetch)",
  (policy, capabilities, bodyLimitBytes) => listening(fetchServer(harnessApp(policy, capabilities, bodyLimitBytes).fetch)),
  { readsGetBodies: false },
);

// Outside @hono/node-server (Bun, Deno, workers, app.request) there is no `c.env.incoming`: the
// adapter reads the Fetch request instead.
describe("@alloovium/hono without a Node request", () => {
  it("reads the Fetch request's headers and body", async () => {
    const t = createTestPolicy();
    const { key } = await t.mintKey({ scopes: ["vault:write"] });
    const a = alloovium({ policy: t.policy, capabilities: adapterSuiteCapabilities.all });
    const app = new Hono<AllooviumEnv>();
    app.get(whoami.routePath, a.route(whoami), (c) => c.json(c.get("principal")));
    app.post(create.routePath, a.route(create), async (c) => c.json({ got: await c.req.json() }, 201));
    app.notFound(a.notFound);
    const auth = { authorization: `Bearer ${key}` };
    const ok = await app.request(create.routePath, { method: "POST", headers: { ...auth, "content-type": "application/json", "content-length": "7" }, body: '{"a":1}' });
    expect(ok.status).toBe(201);
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    const formBody = `api_key=${key}`; // a server's Request carries the length it was sent with; app.request's does not
    const form = await app.request(create.routePath, {
      method: "POST",
      headers: { ...auth, "content-type": "application/x-www-form-urlencoded", "content-length": String(formBody.length) },
      body: formBody,
    });
    expect(await form.json()).toMatchObject({ code: "credential_location_not_allowed", location: "body" });
    const head = await app.request(whoami.routePath, { method: "HEAD", headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get("ratelimit-policy")).toBe('"tokens";q=600;w=60, "credits";q=100000');
    const missing = await app.request(`/nowhere?api_key=${key}`);
    expect(await missing.json()).toMatchObject({ code: "credential_location_not_allowed", location: "query" });
  });
});

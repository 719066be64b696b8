// Run by Bun and Deno on the installed packages (packaging/installed.test.ts): the built dist of
// @alloovium/core, @alloovium/hono and @alloovium/redis, a Hono app taking requests through
// `app.fetch` (Request in, Response out, as Bun.serve and Deno.serve call it). Prints JSON.
import { defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import { alloovium } from "@alloovium/hono";
import { createRedisStores } from "@alloovium/redis";
import { Hono } from "hono";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
const create = defineCapability({ id: "things.create", method: "POST", path: "/things", cost: 1, idempotent: true });
const t = createTestPolicy();
const { key } = await t.mintKey({ scopes: [] });
const a = alloovium({ policy: t.policy, capabilities: defineCapabilities([whoami, create]) });
const app = new Hono();
let n = 0;
app.get(whoami.routePath, a.route(whoami), (c) => c.json(c.get("principal")));
app.post(create.routePath, a.route(create), async (c) => c.json({ n: ++n, got: await c.req.json() }, 201));
app.notFound(a.notFound);
app.onError(a.onError);

const call = async (path, init = {}) => {
  const res = await app.fetch(new Request(`http://localhost${path}`, init));
  return { status: res.status, ratelimit: res.headers.get("ratelimit-policy"), replayed: res.headers.get("idempotent-replayed"), body: await res.json() };
};
const auth = `Bearer ${key}`;
const twice = new Headers([["authorization", auth]]);
twice.append("authorization", auth);
const post = { method: "POST", headers: { authorization: auth, "content-type": "application/json", "content-length": "7", "idempotency-key": "k1" }, body: '{"a":1}' };
const result = {
  runtime: typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node",
  redisStores: typeof createRedisStores,
  me: await call("/api/v2/me", { headers: { authorization: auth } }),
  none: await call("/api/v2/me"),
  duplicate: await call("/api/v2/me", { headers: twice }),
  first: await call("/things", post),
  replay: await call("/things", post),
  missing: await call(`/nowhere?api_key=${key}`),
};
process.stdout.write(JSON.stringify(result));

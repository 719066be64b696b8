import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability } from "@alloovium/core";
import { alloovium, type AllooviumEnv } from "@alloovium/hono";
import { Hono } from "hono";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
export const keyStore = new MemoryKeyStore(); // or @alloovium/redis
export const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env["KEY_PEPPER"] ?? "dev-only-pepper-0123" }] });
const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: keyStore } });
const a = alloovium({ policy, capabilities: defineCapabilities([whoami]) });

export const app = new Hono<AllooviumEnv>(); // your existing app
app.get(whoami.routePath, a.route(whoami), (c) => c.json(c.get("principal")));
app.notFound(a.notFound);
app.onError(a.onError);

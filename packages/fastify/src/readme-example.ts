import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability } from "@alloovium/core";
import { alloovium } from "@alloovium/fastify";
import Fastify from "fastify";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
export const keyStore = new MemoryKeyStore(); // or @alloovium/redis
export const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env["KEY_PEPPER"] ?? "dev-only-pepper-0123" }] });
const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: keyStore } });
const a = alloovium({ policy, capabilities: defineCapabilities([whoami]) });

export const app = Fastify({ frameworkErrors: a.frameworkErrors }); // your existing app
await app.register(a.plugin); // before your routes
app.get(whoami.routePath, { config: { capability: whoami } }, async (request) => request.principal);

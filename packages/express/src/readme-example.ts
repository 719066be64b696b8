import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability } from "@alloovium/core";
import { alloovium, type AllooviumResponse } from "@alloovium/express";
import express from "express";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
export const keyStore = new MemoryKeyStore(); // or @alloovium/redis
export const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env["KEY_PEPPER"] ?? "dev-only-pepper-0123" }] });
const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: keyStore } });
const a = alloovium({ policy, capabilities: defineCapabilities([whoami]) });

export const app: express.Express = express(); // your existing app
app.get(whoami.routePath, a.route(whoami), (_req, res: AllooviumResponse) => {
  res.json(res.locals.principal);
});
app.use(a.notFound, a.errorHandler); // after your routes

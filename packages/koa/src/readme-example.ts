import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability } from "@alloovium/core";
import { alloovium, type AllooviumState } from "@alloovium/koa";
import Router from "@koa/router";
import Koa from "koa";

const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", cost: 1, idempotent: true });
export const keyStore = new MemoryKeyStore(); // or @alloovium/redis
export const keyHasher = createKeyHasher({ peppers: [{ id: "p1", secret: process.env["KEY_PEPPER"] ?? "dev-only-pepper-0123" }] });
const policy = createPolicy({ environment: "live", keyHasher, stores: { keys: keyStore } });
const a = alloovium({ policy, capabilities: defineCapabilities([whoami]) });

export const app = new Koa(); // your existing app
const router = new Router<AllooviumState>();
router.get(whoami.routePath, a.route(whoami), (ctx) => void (ctx.body = ctx.state.principal));
app.use(a.errorHandler).use(router.routes()).use(a.notFound); // problems first, 404/405 last

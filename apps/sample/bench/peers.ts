/**
 * The two baselines the HTTP benchmark holds the full policy against, per framework, both
 * answering `GET /api/v2/me` with the same JSON as the sample app:
 *
 * - bare: the framework alone, writing the body the way the sample's binding does
 *   (src/frameworks/*.ts: Hono `c.json`; Express with ETag off and `end(JSON.stringify(...))`;
 *   Koa a string body with `application/json`; Fastify the JSON as bytes with `application/json`),
 *   so that the ratio measures the policy and not a difference in serialization;
 * - peer: what a careful user assembles from popular packages: bearer auth whose key lookup is an
 *   HMAC-SHA256 digest of the presented key with a pepper, found in a Map of digest -> principal,
 *   then the framework's popular rate limiter on a memory store, keyed by the key's id:
 *   Hono `hono/bearer-auth` (verifyToken) + `hono-rate-limiter`; Express `passport` +
 *   `passport-http-bearer` + `express-rate-limit`; Koa a bearer middleware + `koa-ratelimit`
 *   (memory driver); Fastify `@fastify/bearer-auth` + `@fastify/rate-limit`; NestJS (on Express) a
 *   bearer guard + `@nestjs/throttler`'s guard.
 *
 * The peers' limit is the enterprise tier's average rate as a fixed window (12,000 per 60 s; our
 * bucket holds 12,000 and refills 200/s). No secret is compared byte by byte: the lookup is by the
 * keyed digest, so its timing says nothing about a stored key (the way our key store looks keys
 * up too). What the peers do not do, and ours does: credits, idempotency, environments, scopes,
 * problem details, credential screening, `last_used_at`.
 */
import { createHmac } from "node:crypto";
import { createServer, type RequestListener } from "node:http";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Middleware } from "koa";
import type { Framework } from "../src/server";

export const ME = "/api/v2/me";

/** The fields of the sample's principal the peers read; the rest is echoed as is. */
export interface PeerPrincipal {
  readonly api_key_id: string;
  readonly [field: string]: unknown;
}

/** One raw key and the principal `/me` answers for it. */
export interface PeerKey {
  readonly key: string;
  readonly principal: PeerPrincipal;
}

/** The peers' window and limit: the enterprise tier's 200/s as a fixed window. */
export const PEER_WINDOW_MS = 60_000;
export const PEER_LIMIT = 12_000;

/** HMAC-SHA256 of the raw key with the pepper, base64url: what a careful user stores. */
function digestLookup(pepper: string, keys: readonly PeerKey[]): (token: string) => PeerPrincipal | undefined {
  const digest = (raw: string) => createHmac("sha256", pepper).update(raw).digest("base64url");
  const byDigest = new Map<string, PeerPrincipal>();
  for (const { key, principal } of keys) byDigest.set(digest(key), principal);
  return (token) => byDigest.get(digest(token));
}

/** The framework answering `me` with no policy. */
export async function bareListener(framework: Framework, me: unknown): Promise<RequestListener> {
  const json = me as Record<string, unknown>;
  if (framework === "hono") {
    const { Hono } = await import("hono");
    const { getRequestListener } = await import("@hono/node-server");
    const app = new Hono();
    app.get(ME, (c) => c.json(json));
    return getRequestListener(app.fetch);
  }
  if (framework === "nestjs") return nestListener([], (_req, res) => res.status(200).setHeader("content-type", "application/json").end(JSON.stringify(json)));
  if (framework === "fastify") return fastifyListener((app) => app.get(ME, (_request, reply) => reply.header("content-type", "application/json").send(Buffer.from(JSON.stringify(json)))));
  if (framework === "express") {
    const { default: express } = await import("express");
    const app = express();
    app.disable("x-powered-by");
    app.disable("etag");
    app.get(ME, (_req, res) => {
      res.status(200).setHeader("content-type", "application/json").end(JSON.stringify(json));
    });
    return app as unknown as RequestListener;
  }
  const { default: Koa } = await import("koa");
  const { default: Router } = await import("@koa/router");
  const app = new Koa();
  const router = new Router();
  router.get(ME, (ctx) => {
    ctx.status = 200;
    ctx.set("Content-Type", "application/json");
    ctx.body = JSON.stringify(json);
  });
  app.use(router.routes());
  return app.callback();
}

/** The framework with popular bearer auth and rate-limit packages, answering the caller's principal. */
export async function peerListener(framework: Framework, pepper: string, keys: readonly PeerKey[]): Promise<RequestListener> {
  const lookup = digestLookup(pepper, keys);
  if (framework === "hono") return honoPeer(lookup);
  if (framework === "express") return expressPeer(lookup);
  if (framework === "fastify") return fastifyPeer(lookup);
  if (framework === "nestjs") return nestPeer(lookup);
  return koaPeer(lookup);
}

type NestRequest = { headers: Record<string, string | undefined>; principal?: PeerPrincipal | undefined };
type NestResponse = import("express").Response;

/**
 * A Nest app on its Express platform (ETag and X-Powered-By off, as the sample's) answering
 * `GET /me` with `handle` behind `guards`, with `imports`, as a request listener.
 */
async function nestListener(guards: Function[], handle: (req: NestRequest, res: NestResponse) => void, imports: unknown[] = []): Promise<RequestListener> {
  await import("reflect-metadata");
  const { Controller, Get, Module, Req, Res, UseGuards } = await import("@nestjs/common");
  const { NestFactory } = await import("@nestjs/core");
  const { ExpressAdapter } = await import("@nestjs/platform-express");
  const { default: express } = await import("express");
  class MeController {
    me(req: NestRequest, res: NestResponse) {
      handle(req, res);
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(MeController.prototype, "me")!;
  Req()(MeController.prototype, "me", 0);
  Res()(MeController.prototype, "me", 1);
  if (guards.length) UseGuards(...guards)(MeController.prototype, "me", descriptor);
  Get(ME)(MeController.prototype, "me", descriptor);
  Controller()(MeController);
  class AppModule {}
  Module({ imports: imports as never[], controllers: [MeController] })(AppModule);
  const instance = express().disable("x-powered-by").disable("etag");
  const app = await NestFactory.create(AppModule, new ExpressAdapter(instance), { logger: false });
  await app.init();
  return instance as unknown as RequestListener;
}

async function nestPeer(lookup: Lookup): Promise<RequestListener> {
  const { UnauthorizedException } = await import("@nestjs/common");
  const { ThrottlerGuard, ThrottlerModule } = await import("@nestjs/throttler");
  // RFC 6750's token68 after the scheme, as hono/bearer-auth and passport-http-bearer read it.
  const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
  class BearerGuard {
    canActivate(ctx: { switchToHttp(): { getRequest(): NestRequest } }): boolean {
      const req = ctx.switchToHttp().getRequest();
      const match = BEARER.exec(req.headers["authorization"] ?? "");
      req.principal = match ? lookup(match[1]!) : undefined;
      if (req.principal === undefined) throw new UnauthorizedException();
      return true;
    }
  }
  const throttler = ThrottlerModule.forRoot({ throttlers: [{ ttl: PEER_WINDOW_MS, limit: PEER_LIMIT }], getTracker: (req) => (req as NestRequest).principal!.api_key_id });
  return nestListener([BearerGuard, ThrottlerGuard], (req, res) => res.status(200).setHeader("content-type", "application/json").end(JSON.stringify(req.principal)), [throttler]);
}

/** A Fastify app, set up by `routes`, as a request listener (its own server never listens). */
export async function fastifyListener(routes: (app: FastifyInstance) => unknown): Promise<RequestListener> {
  const { default: Fastify } = await import("fastify");
  let listener: RequestListener | undefined;
  const app = Fastify({ serverFactory: (handler) => ((listener = handler), createServer()) });
  await routes(app);
  await app.ready();
  return listener!;
}

async function fastifyPeer(lookup: Lookup): Promise<RequestListener> {
  const { default: bearerAuth } = await import("@fastify/bearer-auth");
  const { default: rateLimit } = await import("@fastify/rate-limit");
  const principals = new WeakMap<object, PeerPrincipal>();
  return fastifyListener(async (app) => {
    // Cast: @fastify/rate-limit's declaration merging makes the plugin types disagree on the instance's generics.
    await app.register(bearerAuth as unknown as FastifyPluginAsync<{ keys: Set<string>; auth: (key: string, request: object) => boolean }>, {
      keys: new Set<string>(),
      auth: (key, request) => {
        const principal = lookup(key);
        if (principal !== undefined) principals.set(request, principal);
        return principal !== undefined;
      },
    });
    await app.register(rateLimit as unknown as FastifyPluginAsync<{ max: number; timeWindow: number; keyGenerator: (request: object) => string }>, {
      max: PEER_LIMIT,
      timeWindow: PEER_WINDOW_MS,
      keyGenerator: (request) => principals.get(request)!.api_key_id,
    });
    app.get(ME, (request, reply) => reply.header("content-type", "application/json").send(Buffer.from(JSON.stringify(principals.get(request)))));
  });
}

type Lookup = (token: string) => PeerPrincipal | undefined;

async function honoPeer(lookup: Lookup): Promise<RequestListener> {
  const { Hono } = await import("hono");
  const { bearerAuth } = await import("hono/bearer-auth");
  const { rateLimiter } = await import("hono-rate-limiter");
  const { getRequestListener } = await import("@hono/node-server");
  type Env = { Variables: { principal: PeerPrincipal } };
  const app = new Hono<Env>();
  app.get(
    ME,
    bearerAuth<Env>({
      verifyToken: (token, c) => {
        const principal = lookup(token);
        if (principal === undefined) return false;
        c.set("principal", principal);
        return true;
      },
    }),
    rateLimiter<Env>({
      windowMs: PEER_WINDOW_MS,
      limit: PEER_LIMIT,
      standardHeaders: "draft-7",
      keyGenerator: (c) => c.get("principal").api_key_id,
    }),
    (c) => c.json(c.get("principal")),
  );
  return getRequestListener(app.fetch);
}

async function expressPeer(lookup: Lookup): Promise<RequestListener> {
  const { default: express } = await import("express");
  const { Passport } = await import("passport");
  const { Strategy: BearerStrategy } = await import("passport-http-bearer");
  const { rateLimit } = await import("express-rate-limit");
  const passport = new Passport();
  passport.use(new BearerStrategy((token, done) => done(null, lookup(token) ?? false)));
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.use(passport.initialize());
  app.get(
    ME,
    passport.authenticate("bearer", { session: false }),
    rateLimit({
      windowMs: PEER_WINDOW_MS,
      limit: PEER_LIMIT,
      standardHeaders: "draft-7",
      legacyHeaders: false,
      keyGenerator: (req) => (req.user as PeerPrincipal).api_key_id,
    }),
    (req, res) => {
      res.status(200).setHeader("content-type", "application/json").end(JSON.stringify(req.user));
    },
  );
  return app as unknown as RequestListener;
}

async function koaPeer(lookup: Lookup): Promise<RequestListener> {
  const { default: Koa } = await import("koa");
  const { default: Router } = await import("@koa/router");
  const { default: ratelimit } = await import("koa-ratelimit");
  type State = { principal: PeerPrincipal };
  const app = new Koa<State>();
  const router = new Router<State>();
  // RFC 6750's token68 after the scheme, as hono/bearer-auth and passport-http-bearer read it.
  const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
  const bearer: Middleware<State> = async (ctx, next) => {
    const match = BEARER.exec(ctx.get("authorization"));
    const principal = match ? lookup(match[1]!) : undefined;
    if (principal === undefined) {
      ctx.status = 401;
      ctx.set("WWW-Authenticate", match ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"');
      ctx.body = "Unauthorized";
      return;
    }
    ctx.state.principal = principal;
    await next();
  };
  router.get(
    ME,
    bearer,
    ratelimit({
      driver: "memory",
      db: new Map(),
      duration: PEER_WINDOW_MS,
      max: PEER_LIMIT,
      id: (ctx) => (ctx.state as State).principal.api_key_id,
    }),
    (ctx) => {
      ctx.status = 200;
      ctx.set("Content-Type", "application/json");
      ctx.body = JSON.stringify(ctx.state.principal);
    },
  );
  app.use(router.routes());
  return app.callback();
}

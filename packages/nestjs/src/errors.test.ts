import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import { BadRequestException, Catch, Controller, ForbiddenException, HttpCode, HttpException, Module, NotFoundException, Param, Req, UseFilters, UseGuards, type ArgumentsHost, type CanActivate, type ExceptionFilter, type ExecutionContext, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AllooviumModule, Capability } from "./index";

const getThing = defineCapability({ id: "things.get", method: "GET", path: "/things/{id}", cost: 1, idempotent: true });
const actOnThing = defineCapability({ id: "things.act", method: "POST", path: "/things/{id}/act", cost: 1, credits: 2, idempotent: true });
let actRuns = 0;

/** The user's own guard, after the module's: refuses with a Nest 403 before any interceptor runs. */
class DenyGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers["x-deny"]) throw new ForbiddenException("Denied by the service.");
    return true;
  }
}

@Controller()
class ThingsController {
  @Capability(getThing)
  get(@Param("id") id: string) {
    if (id === "missing") throw new NotFoundException("No such thing.");
    if (id === "bad") throw new BadRequestException("A Nest 400 has no contract code.");
    return { id };
  }

  @Capability(actOnThing)
  @UseGuards(DenyGuard)
  act(@Param("id") id: string) {
    actRuns++;
    return { id, runs: actRuns };
  }
}

describe("@alloovium/nestjs: Nest's own exceptions", () => {
  const t = createTestPolicy();
  let app: INestApplication;
  let base: string;
  let key: string;

  beforeAll(async () => {
    key = (await t.mintKey()).key;
    @Module({ imports: [AllooviumModule.forRoot({ policy: t.policy, capabilities: defineCapabilities([getThing, actOnThing]) })], controllers: [ThingsController], providers: [DenyGuard] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { bodyParser: false, logger: false });
    await app.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it("maps the @Capability decorator to the capability's method and path", async () => {
    const r = await get("/things/7");
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ id: "7" });
    expect(r.headers.get("ratelimit")).toMatch(/^"tokens";r=\d+;t=\d+/);
  });

  it("answers a NotFoundException from a handler as the 404 not_found problem, its message as the detail", async () => {
    const r = await get("/things/missing");
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect(await r.json()).toMatchObject({ code: "not_found", detail: "No such thing." });
  });

  it("answers another HttpException as Nest would (its status, its JSON), and a route nobody has as 404/405", async () => {
    const bad = await get("/things/bad");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/json");
    expect(await bad.json()).toEqual({ statusCode: 400, message: "A Nest 400 has no contract code.", error: "Bad Request" });
    expect(bad.headers.get("ratelimit")).toMatch(/^"tokens";r=\d+/);
    const nowhere = await get("/elsewhere");
    expect(nowhere.status).toBe(404);
    expect(await nowhere.json()).toMatchObject({ code: "not_found" });
    const wrong = await fetch(`${base}/things/7`, { method: "DELETE" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET");
  });

  it("settles a decision whose handler a later guard refused: the 403 is stored for the Idempotency-Key and its credits kept", async () => {
    const post = (idem: string, deny: boolean) =>
      fetch(`${base}/things/7/act`, { method: "POST", headers: { authorization: `Bearer ${key}`, "idempotency-key": idem, ...(deny ? { "x-deny": "1" } : {}) } });
    const credits = (r: Response) => Number(/"credits";r=(\d+)/.exec(r.headers.get("ratelimit") ?? "")?.[1]);
    const first = await post("deny-1", true);
    expect(first.status).toBe(403);
    expect(await first.json()).toMatchObject({ statusCode: 403, message: "Denied by the service." });
    const again = await post("deny-1", false);
    expect(again.status).toBe(403); // the stored answer, not 409 idempotency_key_in_use
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(actRuns).toBe(0);
    const ok = await post("deny-2", false);
    expect(ok.status).toBe(201);
    expect(credits(ok)).toBe(credits(first) - 2);
  });
});

const echo = defineCapability({ id: "things.echo", method: "POST", path: "/echo", cost: 1, idempotent: true });

@Controller()
class EchoController {
  @Capability(echo)
  @HttpCode(200)
  echo(@Req() req: { body: unknown }) {
    return { got: req.body };
  }
}

describe("@alloovium/nestjs on Express with Nest's body parser left on", () => {
  const t = createTestPolicy();
  let app: INestApplication;

  beforeAll(async () => {
    @Module({ imports: [AllooviumModule.forRoot({ policy: t.policy })], controllers: [EchoController] })
    class EchoModule {}
    app = await NestFactory.create(EchoModule, { logger: false }); // bodyParser not turned off
    await app.listen(0, "127.0.0.1");
  });
  afterAll(() => app.close());

  it("takes the JSON the parser left instead of reading a spent stream", async () => {
    const { key } = await t.mintKey();
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const r = await fetch(`${base}/echo`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: '{"a":1}' });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ got: { a: 1 } });
  });
});

const guarded = defineCapability({ id: "things.guarded", method: "POST", path: "/guarded/{id}", cost: 1, credits: 2, idempotent: true });
let guardedRuns = 0;

/** The app's own filters, as many apps have them: one for HttpExceptions on a route, one catch-all for the whole app. */
/** JSON on Express's `res` or Fastify's reply, as an app's filter writes it. */
function reply(host: ArgumentsHost, status: number, body: unknown): void {
  const res = host.switchToHttp().getResponse<{ code?(s: number): { send(b: unknown): void }; status(s: number): { json(b: unknown): void } }>();
  if (res.code) res.code(status).send(body);
  else res.status(status).json(body);
}
@Catch(HttpException)
class TheirHttpFilter implements ExceptionFilter {
  catch(e: HttpException, host: ArgumentsHost) {
    reply(host, e.getStatus(), { theirs: true, status: e.getStatus() });
  }
}
@Catch()
class TheirCatchAll implements ExceptionFilter {
  catch(e: unknown, host: ArgumentsHost) {
    const status = e instanceof HttpException ? e.getStatus() : 500;
    reply(host, status, { catchAll: true, status });
  }
}

@Controller()
class GuardedController {
  @Capability(guarded)
  @UseGuards(DenyGuard)
  @UseFilters(TheirHttpFilter)
  act(@Param("id") id: string) {
    guardedRuns++;
    if (id === "throw") throw new Error("secret detail");
    return { id, runs: guardedRuns };
  }
}

describe.each(["express", "fastify"] as const)("@alloovium/nestjs on %s beside the app's own exception filters", (platform) => {
  const t = createTestPolicy({ creditGrant: 100 });
  let app: INestApplication;
  let base: string;
  let key: string;
  let tenant: string;

  beforeAll(async () => {
    const minted = await t.mintKey();
    key = minted.key;
    tenant = minted.record.tenant_id;
    @Module({ imports: [AllooviumModule.forRoot({ policy: t.policy, capabilities: defineCapabilities([guarded]) })], controllers: [GuardedController], providers: [DenyGuard] })
    class AppModule {}
    app = await NestFactory.create(AppModule, platform === "express" ? new ExpressAdapter() : new FastifyAdapter(), { bodyParser: false, logger: false });
    app.useGlobalFilters(new TheirCatchAll());
    await app.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  const post = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, ...headers } });
  const balance = async () => (await t.policy.usage(tenant)).balance;

  it("a refusal and a replay are the policy's answers, whatever catch-all filter the app has", async () => {
    const refused = await fetch(`${base}/guarded/1`, { method: "POST" });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(await refused.json()).toMatchObject({ code: "missing_credentials" });
    const first = await post("/guarded/1", { "idempotency-key": "catch-all-1" });
    expect(first.status).toBe(201);
    const body = await first.text();
    const replay = await post("/guarded/1", { "idempotency-key": "catch-all-1" });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(body);
  });

  it("a later guard's exception written by the app's filter is settled: the key is not left in flight", async () => {
    const runs = guardedRuns;
    const denied = await post("/guarded/2", { "idempotency-key": "their-filter-1", "x-deny": "1" });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ theirs: true, status: 403 });
    const again = await post("/guarded/2", { "idempotency-key": "their-filter-1" });
    expect(again.status).toBe(403); // their stored answer, not 409 idempotency_key_in_use
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(guardedRuns).toBe(runs);
  });

  it("a handler's throw written by the app's catch-all refunds the credits and gives the key back", async () => {
    const before = await balance();
    const failed = await post("/guarded/throw", { "idempotency-key": "catch-all-throw" });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ catchAll: true, status: 500 });
    expect(await balance()).toBe(before);
    const runs = guardedRuns;
    const retry = await post("/guarded/throw", { "idempotency-key": "catch-all-throw" });
    expect(retry.status).toBe(500); // ran again, not 409
    expect(guardedRuns).toBe(runs + 1);
  });
});

import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { defineCapabilities, defineCapability } from "@alloovium/core";
import { createTestPolicy } from "@alloovium/core/testing";
import { BadRequestException, Controller, ForbiddenException, HttpCode, Module, NotFoundException, Param, Req, UseGuards, type CanActivate, type ExecutionContext, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
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

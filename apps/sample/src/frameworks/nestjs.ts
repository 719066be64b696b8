import "reflect-metadata";
import type { RequestListener } from "node:http";
import { AllooviumModule, Capability } from "@alloovium/nestjs";
import type { PolicyContext, PolicyRequest, Principal } from "@alloovium/core";
import { All, Controller, Get, Module, Req, Res } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import express from "express";
import { HEALTH, JSON_TYPE, type BuildApp, readOnlyRefusal } from "./types";

type NestRequest = express.Request & { principal: Principal; policyRequest: PolicyRequest; input: PolicyContext["input"] };
type Method = (req: NestRequest, res: express.Response) => unknown;

/**
 * Adds a handler method to a controller class, as `@decorator() name(@Req() req, @Res() res)`
 * would: the sample's routes are a list, not a class written by hand.
 */
function method(target: { prototype: object }, name: string, route: MethodDecorator, handle: Method): void {
  const descriptor: PropertyDescriptor = { value: handle, writable: true, configurable: true };
  Object.defineProperty(target.prototype, name, descriptor);
  Req()(target.prototype, name, 0);
  Res()(target.prototype, name, 1); // the handler writes the response itself, as on Express
  route(target.prototype, name, descriptor);
}

function send(res: express.Response, status: number, headers: Readonly<Record<string, string>>, body?: string | Buffer): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).end(body);
}

/** The v2 surface on NestJS (the Express platform), through `@alloovium/nestjs`. */
export const buildNestApp: BuildApp = async ({ policy, capabilities, routes, statics, bodyLimitBytes }) => {
  class ApiController {}
  let n = 0;
  // Outside the policy, screened by the module's guard like every route.
  method(ApiController, `m${n++}`, Get("/healthz"), (_req, res) => send(res, 200, { "content-type": JSON_TYPE }, JSON.stringify(HEALTH)));
  for (const asset of statics) method(ApiController, `m${n++}`, Get(asset.path), (_req, res) => send(res, 200, asset.headers, asset.body));
  // Another method on these pages: 405 with Allow, after the same screen.
  const refusal = readOnlyRefusal(policy);
  for (const path of ["/healthz", ...statics.map((s) => s.path)]) method(ApiController, `m${n++}`, All(path), (_req, res) => send(res, refusal.status, refusal.headers, refusal.body));
  for (const { capability, handle } of routes) {
    method(ApiController, `m${n++}`, Capability(capability), async (req, res) => {
      const request = req.policyRequest;
      const result = await handle({
        principal: req.principal,
        params: req.params as Record<string, string>,
        query: request.query ?? "",
        input: req.input,
        body: request.body,
        ...(request.rawBody === undefined ? {} : { rawBody: request.rawBody }),
      });
      if (result.body === undefined) send(res, result.status, result.headers ?? {});
      else send(res, result.status, { ...result.headers, "content-type": JSON_TYPE }, JSON.stringify(result.body));
    });
  }
  Controller()(ApiController);
  class AppModule {}
  Module({ imports: [AllooviumModule.forRoot({ policy, capabilities, ...(bodyLimitBytes === undefined ? {} : { bodyLimitBytes }) })], controllers: [ApiController] })(AppModule);
  // Strict and case-sensitive, as capability paths match: /api/v2/me/ and /API/V2/ME are 404.
  const instance = express().disable("x-powered-by").disable("etag").enable("strict routing").enable("case sensitive routing");
  const app = await NestFactory.create(AppModule, new ExpressAdapter(instance), { bodyParser: false, logger: false });
  await app.init();
  return instance as unknown as RequestListener;
};

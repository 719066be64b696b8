import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { ProblemError, type CapabilitySet, type Policy, type Principal as PrincipalType } from "@alloovium/core";
import { adapterConformance, adapterSuiteCapabilities } from "@alloovium/core/conformance";
import { Controller, Get, HttpCode, Param, Req, Res, UseGuards, type CanActivate, type ExecutionContext, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import express from "express";
import { AllooviumModule, Capability, Principal, allooviumFrameworkErrors } from "./index";

const { whoami, create, flaky } = adapterSuiteCapabilities;

type Platform = "express" | "fastify";

/** A guard after the module's: throws on `/flaky/later`, after the request was admitted. */
class LaterGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.switchToHttp().getRequest<{ params: Record<string, string> }>().params["id"] === "later") throw new Error("secret detail");
    return true;
  }
}

/** The suite's app as a Nest module on `platform`. */
export async function startNest(platform: Platform, policy: Policy, capabilities: CapabilitySet, bodyLimitBytes: number): Promise<{ url: string; close(): Promise<void> }> {
  let creates = 0;
  let flakyRuns = 0;

  @Controller()
  class SuiteController {
    @Capability(whoami)
    me(@Principal() principal: PrincipalType) {
      return principal;
    }

    @Capability(create)
    create(@Req() req: { policyRequest: { rawBody?: string }; body: unknown }, @Res({ passthrough: true }) res: unknown) {
      creates++;
      if (req.policyRequest.rawBody !== undefined) throw new ProblemError("invalid_body", "Not JSON.");
      setStatus(res, 201);
      setHeader(res, "location", `/things/${creates}`);
      return { n: creates, got: req.body };
    }

    @Capability(flaky)
    @UseGuards(LaterGuard)
    @HttpCode(200)
    flaky(@Param("id") id: string, @Res({ passthrough: true }) res: unknown) {
      flakyRuns++;
      if (id === "boom" && flakyRuns === 1) throw new Error("secret detail");
      if (id === "throw") throw new Error("secret detail");
      if (id === "unavailable") setStatus(res, 503);
      return { runs: flakyRuns };
    }

    @Get("/open")
    open(@Req() req: { body?: unknown }) {
      return { got: req.body ?? null };
    }

    @Get("/plain-boom")
    boom() {
      throw new Error("outside any capability");
    }
  }

  class SuiteModule {}
  const { Module } = await import("@nestjs/common");
  Module({ imports: [AllooviumModule.forRoot({ policy, capabilities, bodyLimitBytes })], controllers: [SuiteController] })(SuiteModule);

  // Strict and case-sensitive routing, as capability paths match (Fastify's defaults).
  const adapter = platform === "express" ? new ExpressAdapter(express().enable("strict routing").enable("case sensitive routing")) : new FastifyAdapter({ frameworkErrors: allooviumFrameworkErrors });
  const app: INestApplication = await NestFactory.create(SuiteModule, adapter, { logger: false, bodyParser: false });
  await app.listen(0, "127.0.0.1");
  return { url: `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`, close: () => app.close() };
}

/** Express's `res.status` or Fastify's `reply.code`. */
function setStatus(res: unknown, status: number): void {
  const r = res as { code?: (s: number) => void; status: (s: number) => void };
  if (r.code) r.code(status);
  else r.status(status);
}
function setHeader(res: unknown, name: string, value: string): void {
  const r = res as { header?: (n: string, v: string) => void; setHeader: (n: string, v: string) => void };
  if (r.header) r.header(name, value);
  else r.setHeader(name, value);
}

// The shared adapter suite (packages/core/src/conformance/adapter.ts) on both of Nest's platforms.
for (const platform of ["express", "fastify"] as const) {
  adapterConformance(`@alloovium/nestjs on ${platform}`, (policy, capabilities, bodyLimitBytes) => startNest(platform, policy, capabilities, bodyLimitBytes));
}

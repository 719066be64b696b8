// The adapter suite of @alloovium/nestjs (both platforms) and its tests of Nest's own exceptions, on NestJS 12 (see vitest.config.ts).
import { createRequire } from "node:module";
import { expect, it } from "vitest";
import "../../../packages/nestjs/src/index.test";
import "../../../packages/nestjs/src/errors.test";

it("runs on NestJS 12", async () => {
  const { VERSION } = (await import("@nestjs/core")) as { VERSION?: string };
  const pkg = createRequire(import.meta.url)("@nestjs/core/package.json") as { version: string };
  expect(pkg.version).toMatch(/^12\./);
  expect(VERSION ?? pkg.version).toMatch(/^12\./);
});

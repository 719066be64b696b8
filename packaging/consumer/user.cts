// A user's CommonJS module (moduleResolution nodenext): the same entry points through their
// `require` types, except conformance, which is ESM-only and so has none.
import { createKeyHasher, createPolicy, defineCapabilities, defineCapability, type Principal } from "@alloovium/core";
import { FakeClock, createTestPolicy, mintApiKey, mintPrincipal } from "@alloovium/core/testing";
import { composeAdmission } from "@alloovium/core/store-kit";
// @ts-expect-error -- @alloovium/core/conformance has no `require` condition (it imports vitest)
import type { bucketStoreConformance } from "@alloovium/core/conformance";
import { createInstrumentedPolicy } from "@alloovium/core/otel";
import { createRedisStores } from "@alloovium/redis";
import { createPostgresStores, connectPostgresStores } from "@alloovium/postgres";
import pg = require("pg");
import { alloovium as forExpress, type AllooviumOptions as ExpressOptions } from "@alloovium/express";
import { alloovium as forKoa, type AllooviumOptions as KoaOptions } from "@alloovium/koa";
import { alloovium as forHono, type AllooviumOptions as HonoOptions } from "@alloovium/hono";
import { alloovium as forFastify, type AllooviumOptions as FastifyOptions } from "@alloovium/fastify";
import { AllooviumModule, type AllooviumOptions as NestOptions } from "@alloovium/nestjs";

type IsAny<T> = 0 extends 1 & T ? true : false;
/** Compiles only when `value`'s type resolved to something other than `any`. */
function typed<T>(value: T & (IsAny<T> extends true ? never : unknown)): T {
  return value;
}

typed(createPolicy);
typed(defineCapability);
typed(defineCapabilities);
typed(createKeyHasher);
typed(createTestPolicy);
typed(mintApiKey);
typed(composeAdmission);
typed(createInstrumentedPolicy);
typed(createRedisStores);
typed(createPostgresStores);
const pgStores = (url: string) => connectPostgresStores({ pool: new pg.Pool({ connectionString: url }), listener: () => new pg.Client({ connectionString: url }) });
void pgStores;
typed(forExpress);
typed(forKoa);
typed(forHono);
typed(forFastify);
typed(AllooviumModule.forRoot);
typed(new FakeClock());

// A principal minted by the testing entry point is the root's Principal.
export const principal: Principal = typed(mintPrincipal());
export type Options = [IsAny<ExpressOptions>, IsAny<KoaOptions>, IsAny<HonoOptions>, IsAny<FastifyOptions>, IsAny<NestOptions>] extends [false, false, false, false, false] ? true : never;
export const options: Options = true;

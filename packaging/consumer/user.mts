// A user's ES module (checked with moduleResolution nodenext and bundler): every entry point's
// types resolve from the installed packages, are not `any`, and agree with one another across entry points.
import { MemoryKeyStore, createKeyHasher, createPolicy, defineCapabilities, defineCapability, type Decision, type Principal } from "@alloovium/core";
import { FakeClock, createTestPolicy, mintApiKey, mintPrincipal } from "@alloovium/core/testing";
import { composeAdmission } from "@alloovium/core/store-kit";
import { adapterConformance, bucketStoreConformance } from "@alloovium/core/conformance";
import { createInstrumentedPolicy } from "@alloovium/core/otel";
import { createRedisStores } from "@alloovium/redis";
import { createPostgresStores, connectPostgresStores } from "@alloovium/postgres";
import pg from "pg";
import { alloovium as forExpress, type AllooviumOptions as ExpressOptions } from "@alloovium/express";
import { alloovium as forKoa, type AllooviumOptions as KoaOptions } from "@alloovium/koa";
import { alloovium as forHono, type AllooviumOptions as HonoOptions } from "@alloovium/hono";
import { alloovium as forFastify, type AllooviumOptions as FastifyOptions } from "@alloovium/fastify";
import { AllooviumModule, type AllooviumOptions as NestOptions } from "@alloovium/nestjs";

type IsAny<T> = 0 extends 1 & T ? true : false;
/** Compiles only when `value`'s type resolved to something other than `any`. */
export function typed<T>(value: T & (IsAny<T> extends true ? never : unknown)): T {
  return value;
}

typed(createPolicy);
typed(defineCapability);
typed(defineCapabilities);
typed(createKeyHasher);
typed(createTestPolicy);
typed(mintApiKey);
typed(composeAdmission);
typed(adapterConformance);
typed(bucketStoreConformance);
typed(createInstrumentedPolicy);
typed(createRedisStores);
typed(createPostgresStores);
// The caller's own pg Pool and Client fit the package's types.
export const pgStores = (url: string) => connectPostgresStores({ pool: new pg.Pool({ connectionString: url }), listener: () => new pg.Client({ connectionString: url }) });
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

// The front door as a service author writes it: the stores as one object, one decision per request.
const policy = createPolicy({ environment: "live", keyHasher: createKeyHasher({ peppers: [{ id: "p1", secret: "a-pepper-of-at-least-32-characters!!" }] }), stores: { keys: new MemoryKeyStore() } });
const whoami = defineCapability({ id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true });
export const decided: Promise<Decision> = policy.decide({ method: "GET", path: "/api/v2/me", headers: [] }, whoami);
export const owes = (d: Decision): string => (d.kind === "continue" ? d.owes : d.kind);

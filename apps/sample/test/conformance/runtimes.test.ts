/**
 * The contract suite against the sample app on Bun and on Deno, memory and Redis stores: each
 * app is `ALLOOVIUM_RUNTIME=<runtime> pnpm start` in a process of its own (Bun.serve / Deno.serve
 * with the Hono app's fetch), configured through the run contract's environment variables.
 * The cases that need the app in this process, or Node's HTTP server, are skipped on these
 * runtimes, each naming why (see the README).
 */
import { describe } from "vitest";
import { MEMORY, redisVariant } from "./support/app";
import { contractSuite } from "./support/contract";

describe.each(["bun", "deno"] as const)("v2 contract on hono on %s", (runtime) => {
  describe("memory stores", () => {
    contractSuite("hono", { ...MEMORY, runtime });
  });
  describe("Redis stores", () => {
    contractSuite("hono", { ...redisVariant(), runtime });
  });
});

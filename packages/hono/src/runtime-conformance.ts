// The adapter conformance suite on Bun and on Deno, in their own test runners, against the suite's
// app served the way each runtime serves Hono: `Bun.serve({ fetch: app.fetch })`,
// `Deno.serve(app.fetch)`. Run by runtimes.test.ts: `bun test`, and `deno test` with vitest
// mapped to node:test and jest's `expect` (runtime-conformance.deno.json).
import { adapterConformance, type AdapterApp } from "@alloovium/core/conformance";
import { harnessApp } from "./conformance-app";

type Fetch = (request: Request) => Response | Promise<Response>;
declare const Bun: { serve(o: { port: number; hostname: string; fetch: Fetch }): { port: number; stop(force?: boolean): unknown } } | undefined;
declare const Deno: { serve(o: { port: number; hostname: string; onListen: (a: { port: number }) => void }, h: Fetch): { shutdown(): Promise<void> } } | undefined;

async function serve(fetch: Fetch): Promise<AdapterApp> {
  const handler: Fetch = (request) => fetch(request); // the runtime's server object is not a Hono env
  if (typeof Bun !== "undefined") {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: handler });
    return { url: `http://127.0.0.1:${server.port}`, close: async () => void (await server.stop(true)) };
  }
  if (typeof Deno === "undefined") throw new Error("runtime-conformance.ts runs on Bun or Deno");
  let server!: { shutdown(): Promise<void> };
  const port = await new Promise<number>((resolve) => (server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: (a) => resolve(a.port) }, handler)));
  return { url: `http://127.0.0.1:${port}`, close: () => server.shutdown() };
}

adapterConformance(
  `@alloovium/hono on ${typeof Bun !== "undefined" ? "Bun.serve" : "Deno.serve"}`,
  async (policy, capabilities, bodyLimitBytes) => serve(harnessApp(policy, capabilities, bodyLimitBytes).fetch),
  { readsGetBodies: false },
);

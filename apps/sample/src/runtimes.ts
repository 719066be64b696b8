/**
 * The JavaScript runtimes the sample app serves on. On Node the framework's request listener
 * runs under `node:http`; on Bun and Deno the Hono app is served the way their users serve it,
 * `Bun.serve({ fetch: app.fetch })` and `Deno.serve(app.fetch)`: Request in, Response out.
 */

export type Runtime = "node" | "bun" | "deno";

export const RUNTIMES: readonly Runtime[] = ["node", "bun", "deno"];

/** A Web-standard handler: what `app.fetch` is. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** The runtime this process runs on (Bun and Deno also answer `process.versions.node`). */
export function currentRuntime(): Runtime {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}

/** A started Web-standard server. */
export interface FetchServer {
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunGlobal {
  serve(options: { fetch: FetchHandler; port: number; hostname: string; development: boolean; error?: (e: unknown) => Response }): BunServer;
}
interface DenoServer {
  readonly addr: { readonly port: number };
  shutdown(): Promise<void>;
}
interface DenoGlobal {
  serve(options: { port: number; hostname: string; onListen: () => void; onError?: (e: unknown) => Response }, handler: FetchHandler): DenoServer;
}

/**
 * Serves `fetch` on Bun or Deno at `host:port` (0: any free port). `fallback` answers an error
 * that escaped the handler (Hono's `onError` already answers every one it sees).
 */
export async function serveFetch(runtime: Exclude<Runtime, "node">, fetch: FetchHandler, port: number, host: string, fallback: () => Response): Promise<FetchServer> {
  // The server object is the handler's second argument on both runtimes: not a Hono `env`.
  const handler: FetchHandler = (request) => fetch(request);
  if (runtime === "bun") {
    const bun = (globalThis as { Bun?: BunGlobal }).Bun;
    if (!bun) throw new TypeError("startServer: `runtime` is \"bun\" but this process does not run on Bun");
    const server = bun.serve({ fetch: handler, port, hostname: host, development: false, error: fallback });
    return { port: server.port, close: async () => void (await server.stop(true)) };
  }
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  if (!deno) throw new TypeError("startServer: `runtime` is \"deno\" but this process does not run on Deno");
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const server = deno.serve({ port, hostname: host, onListen: () => listening(), onError: fallback }, handler);
  await ready;
  return { port: server.addr.port, close: () => server.shutdown() };
}

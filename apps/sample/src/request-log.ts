import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { pinoRedaction, type Decision, type Policy, type Principal } from "@alloovium/core";
import pino from "pino";
import type { FetchHandler } from "./runtimes";

/** What one request's log line says, filled in as the request goes through the policy. */
interface RequestFacts {
  /** The capability's path template (`/api/v2/vault/projects/{id}`), or a fixed page's path. */
  route?: string;
  code?: string;
  keyPrefix?: string;
  clientId?: string;
  /** The policy's own time, in milliseconds (the sum when it was asked more than once). */
  policyMs?: number;
}

/**
 * One JSON line per request (pino, through `log`): method, route template, status, problem
 * code, the key's prefix once the key is authenticated (or the OAuth client id), the policy's
 * time and the request's. Never the request's own path, query, headers or body: a raw key in any
 * of them stays out of the logs (and the `pinoRedaction` paths guard the headers a later field
 * might add).
 */
export function requestLogging(
  policy: Policy,
  fixedPaths: readonly string[],
  log: (line: string) => void,
): { readonly policy: Policy; listen(listener: RequestListener): RequestListener; fetch(handler: FetchHandler): FetchHandler } {
  const storage = new AsyncLocalStorage<RequestFacts>();
  const fixed = new Set(fixedPaths);
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) log(line);
      done();
    },
  });
  const logger = pino({ base: null, redact: pinoRedaction() }, destination);

  const observed: Policy = {
    ...policy,
    async decide(request, capability) {
      const facts = storage.getStore();
      const start = performance.now();
      const decision = await policy.decide(request, capability);
      if (facts) {
        facts.route = capability.path;
        facts.policyMs = (facts.policyMs ?? 0) + (performance.now() - start);
        return noteDecision(facts, decision);
      }
      return decision;
    },
    reject(error, headers) {
      const facts = storage.getStore();
      if (facts) facts.code = error.code; // 404, 405, 413, 415 written by the adapters
      return policy.reject(error, headers);
    },
  };

  const tell = (facts: RequestFacts, method: string | undefined, status: number, start: number) => {
    const line: Record<string, unknown> = { method, route: facts.route ?? "(no route)", status };
    if (facts.code !== undefined) line["code"] = facts.code;
    if (facts.keyPrefix !== undefined) line["key_prefix"] = facts.keyPrefix;
    if (facts.clientId !== undefined) line["client_id"] = facts.clientId;
    if (facts.policyMs !== undefined) line["policy_ms"] = round(facts.policyMs);
    line["duration_ms"] = round(performance.now() - start);
    logger.info(line, "request");
  };
  const factsFor = (target: string): RequestFacts => {
    const path = target.split("?")[0] ?? "";
    return fixed.has(path) ? { route: path } : {};
  };

  return {
    policy: observed,
    listen: (listener) => (req: IncomingMessage, res: ServerResponse) => {
      const facts = factsFor(req.url ?? "");
      const start = performance.now();
      let told = false;
      const once = () => {
        if (told) return;
        told = true;
        tell(facts, req.method, res.statusCode, start);
      };
      res.once("finish", once).once("close", once);
      storage.run(facts, () => listener(req, res));
    },
    // Bun.serve / Deno.serve: the line is told when the handler has its Response (a thrown
    // error is the server's 500, told as such).
    fetch: (handler) => async (request: Request) => {
      const facts = factsFor(pathOf(request.url));
      const start = performance.now();
      let status = 500;
      try {
        const response = await storage.run(facts, () => handler(request));
        status = response.status;
        return response;
      } finally {
        tell(facts, request.method, status, start);
      }
    },
  };
}

function noteDecision(facts: RequestFacts, decision: Decision): Decision {
  const principal: Principal | undefined = decision.principal;
  if (principal?.auth_method === "api_key") facts.keyPrefix = principal.api_key_prefix;
  else if (principal?.auth_method === "oauth") facts.clientId = principal.client_id;
  if (decision.kind === "reject") facts.code = decision.problem.code;
  if (decision.kind !== "continue") return decision;
  // A handler's problem (thrown, then written by the adapter through `abort`) is the answer's code.
  const { abort } = decision;
  return {
    ...decision,
    async abort(error: unknown) {
      const response = await abort(error);
      const code = codeOf(response.body);
      if (code !== undefined) facts.code = code;
      return response;
    },
  };
}

function codeOf(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The path of a Fetch request's URL; "" when the runtime handed on one that does not parse (a bad Host). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

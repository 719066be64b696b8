import type { RequestListener } from "node:http";
import { policyError, type CapabilitySet, type Policy, type WireResponse } from "@alloovium/core";
import type { ConsoleAsset } from "../console";
import type { Route } from "../handlers";
import type { FetchHandler } from "../runtimes";

/** What every framework binding gets: one policy, one capability set, one set of routes. */
export interface AppParts {
  readonly policy: Policy;
  readonly capabilities: CapabilitySet;
  readonly routes: readonly Route[];
  /** Static files served as they are, outside the policy (the Developer Console). */
  readonly statics: readonly ConsoleAsset[];
  readonly bodyLimitBytes?: number;
  readonly log: (line: string) => void;
}

/**
 * A framework binding: the app as a Node request listener (once ready, for Fastify and NestJS),
 * and as a Web-standard `fetch` where the framework has one (Hono's `app.fetch`: what Bun and
 * Deno serve).
 */
export type BuildApp = (parts: AppParts) => AppListener | Promise<AppListener>;

/** What a binding builds: a Node request listener, with `fetch` where the framework has one. */
export type AppListener = RequestListener & { readonly fetch?: FetchHandler };

export const HEALTH = { status: "ok" } as const;

/**
 * The route template for a log line (`/api/v2/keys/:id`), never the request's own path: a raw
 * key pasted into a path segment must not reach the logs.
 */
export function routeOf(template: unknown): string {
  return typeof template === "string" && template !== "/*" && template !== "*" ? template : "(no route)";
}

/** The Content-Type of every JSON success body (no charset: JSON is UTF-8 by definition). */
export const JSON_TYPE = "application/json";

/**
 * 405 `method_not_allowed` with `Allow: GET, HEAD` for another method on a page outside the
 * policy (/healthz, the console's files), as the API's own routes answer a wrong method.
 */
export function readOnlyRefusal(policy: Policy): WireResponse {
  return policy.reject(policyError("method_not_allowed", "This resource answers GET and HEAD only.", undefined, { allow: "GET, HEAD" })).response;
}

import { policyError, type PolicyError } from "../problems";
import { isScope } from "../scopes";
import { findCredential, redactEncoded } from "../credentials/transport";
import { isProblemCode, type ProblemCode } from "../problems/catalogue";
import { bodyOptionalOf, hasJsonSchema, isSchema, type JsonSchema, type Schema } from "./schema";

export type { DocumentedSchema, JsonSchema, Schema, SchemaOutput } from "./schema";

/** A success response a capability declares, for the OpenAPI document (not checked at run time). */
export interface ResponseDeclaration {
  /** One line for humans. */
  readonly description: string;
  /** The JSON body; left out for a response without one (204). On a `paginated` capability, the 200's schema is one item. */
  readonly schema?: Schema;
  /** Headers of this response beside the RateLimit pair (`location` on a 201). */
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly required?: boolean; readonly schema?: JsonSchema }>>;
}

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** What `defineCapability` takes. */
export interface CapabilityInput<Query = unknown, Params = unknown, Body = unknown> {
  /** `resource.action`, e.g. `meta.whoami`. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Path template with `{name}` parameters: `/api/v2/vault/projects/{id}`. */
  readonly path: string;
  /** Scopes the credential must hold (all of them). @default [] */
  readonly scopes?: readonly string[];
  /** Rate-limit tokens taken per call: an integer >= 0. */
  readonly cost: number;
  /** Whether a retry is safe (GET, or a write under an `Idempotency-Key`). Listed to clients. */
  readonly idempotent: boolean;
  /** Refuse the call without an `Idempotency-Key` (400 `idempotency_key_required`). @default false */
  readonly requireIdempotencyKey?: boolean;
  /** Credits charged per call from the tenant's prepaid balance (402 `insufficient_credits` when short): an integer >= 0. @default 0 */
  readonly credits?: number;
  /**
   * Top-level members of a JSON response body left out of the stored idempotency record, so a
   * replay answers without them: `["key"]` on a call that returns a raw API key (a raw key is
   * never stored, the idempotency store included). @default []
   */
  readonly omitFromReplay?: readonly string[];
  /** One line for humans; listed by `GET /api/v2/capabilities` when present. */
  readonly description?: string;
  /**
   * The query string's schema, validated after the policy admitted the request (400
   * `invalid_parameter` with `param`). It sees the query as an object of strings (a repeated
   * name: an array of its values). @default none: the handler gets the raw object
   */
  readonly query?: Schema<Query>;
  /** The path parameters' schema (`{ id }`), validated likewise (400 `invalid_parameter`). @default none */
  readonly params?: Schema<Params>;
  /**
   * The JSON body's schema, validated after the policy admitted the request: a body that is not
   * JSON, or none where the schema needs one, is 400 `invalid_body`; a body the schema refuses is
   * 422 `validation_failed` with `errors: [{ field, message }]`. @default none
   */
  readonly body?: Schema<Body>;
  /** The success responses, by status, for the OpenAPI document. @default none */
  readonly responses?: Readonly<Record<number, ResponseDeclaration>>;
  /** Problem codes the handler itself may answer beyond the policy's and validation's (`not_found`, `key_limit_reached`), for the document. @default [] */
  readonly problems?: readonly ProblemCode[];
  /** Cursor paginated (`limit`, `cursor`; the 200 answers `{ data, next_cursor, has_more }`), for the document. @default false */
  readonly paginated?: boolean;
}

/** A checked, frozen capability declaration. */
export interface Capability<Query = unknown, Params = unknown, Body = unknown> {
  readonly id: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly scopes: readonly string[];
  readonly cost: number;
  readonly idempotent: boolean;
  readonly requireIdempotencyKey: boolean;
  readonly credits: number;
  readonly omitFromReplay: readonly string[];
  readonly description?: string;
  /** The path in `:name` form, as Express, Koa and Hono routers take it. */
  readonly routePath: string;
  /** The names of the path parameters, in order. */
  readonly params: readonly string[];
  /** The declared schemas (validated by the HTTP gate after the policy admitted the request). */
  readonly schemas: {
    readonly query?: Schema<Query>;
    readonly params?: Schema<Params>;
    readonly body?: Schema<Body>;
  };
  readonly responses: Readonly<Record<number, ResponseDeclaration>>;
  readonly problems: readonly ProblemCode[];
  readonly paginated: boolean;
}

const ID = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;
const SEGMENT = /^(?:[A-Za-z0-9\-._~]+|\{[a-z_][a-z0-9_]*\})$/;

function fail(id: unknown, field: string, why: string): never {
  const who = typeof id === "string" && id ? `capability "${id}"` : "capability";
  throw new TypeError(`defineCapability: ${who}: \`${field}\` ${why}`);
}

function count(field: string, id: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    fail(id, field, `must be an integer >= 0, got ${typeof v === "number" ? String(v) : typeof v}`);
  }
  return v;
}

/**
 * Checks and freezes a capability declaration; a bad field throws at start-up naming it.
 * @example
 * export const whoami = defineCapability({
 *   id: "meta.whoami", method: "GET", path: "/api/v2/me", scopes: [], cost: 1, idempotent: true,
 * });
 */
export function defineCapability<Query = unknown, Params = unknown, Body = unknown>(input: CapabilityInput<Query, Params, Body>): Capability<Query, Params, Body> {
  if (!input || typeof input !== "object") throw new TypeError("defineCapability: a declaration object is required");
  const { id } = input;
  if (typeof id !== "string" || !ID.test(id)) fail(id, "id", 'must look like "resource.action"');
  if (!HTTP_METHODS.includes(input.method)) fail(id, "method", `must be one of ${HTTP_METHODS.join(", ")}`);
  const path = input.path;
  if (typeof path !== "string" || !path.startsWith("/")) fail(id, "path", 'must start with "/"');
  const segments = path === "/" ? [] : path.slice(1).split("/");
  const params: string[] = [];
  for (const s of segments) {
    if (!SEGMENT.test(s)) fail(id, "path", `has a malformed segment "${s}"`);
    if (s.startsWith("{")) {
      const name = s.slice(1, -1);
      if (params.includes(name)) fail(id, "path", `repeats the parameter "${name}"`);
      params.push(name);
    }
  }
  const scopes = input.scopes ?? [];
  if (!Array.isArray(scopes)) fail(id, "scopes", "must be an array");
  for (const s of scopes) if (!isScope(s)) fail(id, "scopes", `has a malformed scope ${JSON.stringify(s)} (want "resource:action")`);
  const cost = count("cost", id, input.cost);
  const credits = count("credits", id, input.credits ?? 0);
  if (typeof input.idempotent !== "boolean") fail(id, "idempotent", "must be a boolean");
  if (input.requireIdempotencyKey !== undefined && typeof input.requireIdempotencyKey !== "boolean") {
    fail(id, "requireIdempotencyKey", "must be a boolean");
  }
  const omit = input.omitFromReplay ?? [];
  if (!Array.isArray(omit) || omit.some((m) => typeof m !== "string" || m === "")) fail(id, "omitFromReplay", "must be an array of member names");
  for (const field of ["query", "params", "body"] as const) {
    if (input[field] !== undefined && !isSchema(input[field])) fail(id, field, "must be a Standard Schema (zod 4, valibot, ...) or { schema, jsonSchema }");
  }
  const responses = input.responses ?? {};
  if (typeof responses !== "object" || responses === null) fail(id, "responses", "must be an object keyed by status");
  for (const [status, r] of Object.entries(responses)) {
    if (!/^[1-3][0-9][0-9]$/.test(status)) fail(id, "responses", `has a status "${status}" that is not a success (100 to 399; problems are documented from the contract)`);
    if (!r || typeof r.description !== "string") fail(id, "responses", `${status} needs a description`);
    if (r.schema !== undefined && (!isSchema(r.schema) || !hasJsonSchema(r.schema))) fail(id, "responses", `${status} has a schema without a JSON Schema; pass { schema, jsonSchema }`);
  }
  const problems = input.problems ?? [];
  if (!Array.isArray(problems)) fail(id, "problems", "must be an array of problem codes");
  for (const code of problems) if (!isProblemCode(code)) fail(id, "problems", `has an unknown code ${JSON.stringify(code)}`);
  if (input.paginated !== undefined && typeof input.paginated !== "boolean") fail(id, "paginated", "must be a boolean");
  const schemas: { -readonly [K in keyof Capability<Query, Params, Body>["schemas"]]: Capability<Query, Params, Body>["schemas"][K] } = {};
  if (input.query !== undefined) schemas.query = input.query;
  if (input.params !== undefined) schemas.params = input.params;
  if (input.body !== undefined) schemas.body = input.body;
  const cap: { -readonly [K in keyof Capability<Query, Params, Body>]: Capability<Query, Params, Body>[K] } = {
    id,
    method: input.method,
    path,
    scopes: Object.freeze([...new Set(scopes)].sort()),
    cost,
    idempotent: input.idempotent,
    requireIdempotencyKey: input.requireIdempotencyKey ?? false,
    credits,
    omitFromReplay: Object.freeze([...new Set(omit)]),
    routePath: "/" + segments.map((s) => (s.startsWith("{") ? ":" + s.slice(1, -1) : s)).join("/"),
    params: Object.freeze(params),
    schemas: Object.freeze(schemas),
    responses: Object.freeze({ ...responses }),
    problems: Object.freeze([...new Set(problems)]),
    paginated: input.paginated ?? false,
  };
  bodyOptionalOf(cap.schemas); // judged at start-up, as the gate will
  if (input.description !== undefined) cap.description = input.description;
  return Object.freeze(cap);
}

/** A capability as `GET /api/v2/capabilities` lists it. */
export interface CapabilityListing extends Pick<Capability, "id" | "method" | "path" | "scopes" | "cost" | "idempotent"> {
  /** Whether the caller's scopes allow it. */
  readonly allowed: boolean;
}

/**
 * A request path as a problem's `detail` may show it: at most 200 characters, and anything shaped
 * like an API key or a JWT replaced by `[redacted]`, so a credential pasted into a path is never
 * echoed (nor logged by whoever logs problems).
 */
export function pathForDetail(path: string): string {
  // A credential is found by the same shapes as everywhere else, as written and decoded; a path
  // holding one is shown decoded with each redacted (where it was written, then where it decoded).
  let decoded = path;
  try {
    decoded = path.includes("%") ? decodeURIComponent(path) : path;
  } catch {
    // shown as written
  }
  if (findCredential(path) || findCredential(decoded)) return redactEncoded(path); // cut at 200 too
  return path.length <= 200 ? path : `${path.slice(0, 200)}…`;
}

/** The result of matching a request line against a `CapabilitySet`. */
export type CapabilityMatch =
  | { readonly capability: Capability; readonly params: Readonly<Record<string, string>> }
  | { readonly error: PolicyError };

/** A set of capabilities with unique ids and unique (method, path) pairs. */
export interface CapabilitySet extends Iterable<Capability> {
  readonly list: readonly Capability[];
  get(id: string): Capability | undefined;
  /** The capability serving `method path`, or the 404/405 problem (405 with `Allow`). */
  match(method: string, path: string): CapabilityMatch;
  /** Every capability with `allowed` for a credential holding `scopes`. */
  describe(scopes: readonly string[]): CapabilityListing[];
}

function matchPath(cap: Capability, parts: readonly string[]): Record<string, string> | null {
  const tpl = cap.path === "/" ? [] : cap.path.slice(1).split("/");
  if (tpl.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < tpl.length; i++) {
    const t = tpl[i] as string;
    const p = parts[i] as string;
    if (t.startsWith("{")) {
      if (p === "") return null;
      try {
        params[t.slice(1, -1)] = decodeURIComponent(p);
      } catch {
        return null;
      }
    } else if (t !== p && !(p.includes("%") && decodedSegment(p) === t)) return null; // `th%69ngs` is `things` (RFC 3986 6.2.2.2)
  }
  return params;
}

function decodedSegment(p: string): string | null {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

/**
 * Groups capabilities; a duplicate id or a duplicate method and path throws at start-up.
 * @example const api = defineCapabilities([whoami, listProjects]);
 */
export function defineCapabilities(capabilities: readonly Capability[]): CapabilitySet {
  const byId = new Map<string, Capability>();
  const routes = new Set<string>();
  for (const c of capabilities) {
    if (!c || typeof c.routePath !== "string") throw new TypeError("defineCapabilities: every entry must come from defineCapability");
    if (byId.has(c.id)) throw new TypeError(`defineCapabilities: \`id\` "${c.id}" is declared twice`);
    const route = `${c.method} ${c.routePath.replace(/:[a-z_0-9]+/g, ":")}`;
    if (routes.has(route)) throw new TypeError(`defineCapabilities: \`path\` ${c.method} ${c.path} (capability "${c.id}") is declared twice`);
    byId.set(c.id, c);
    routes.add(route);
  }
  const list = Object.freeze([...byId.values()]);
  return {
    list,
    [Symbol.iterator]: () => list[Symbol.iterator](),
    get: (id) => byId.get(id),
    match(method, path) {
      const parts = path === "/" ? [] : path.slice(1).split("/");
      const allow = new Set<string>();
      for (const c of list) {
        const params = matchPath(c, parts);
        if (!params) continue;
        if (c.method === method) return { capability: c, params };
        allow.add(c.method);
      }
      if (allow.size === 0) return { error: policyError("not_found", `No resource at ${pathForDetail(path)}.`) };
      const methods = [...allow].sort().join(", ");
      return {
        error: policyError("method_not_allowed", `${method.length <= 16 ? method : "This method"} is not allowed here; allowed: ${methods}.`, { allow: [...allow].sort() }, { allow: methods }),
      };
    },
    describe(scopes) {
      return list.map((c) => ({
        id: c.id,
        method: c.method,
        path: c.path,
        scopes: c.scopes,
        cost: c.cost,
        idempotent: c.idempotent,
        allowed: c.scopes.every((s) => scopes.includes(s)),
      }));
    },
  };
}

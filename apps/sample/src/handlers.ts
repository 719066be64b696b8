import {
  ProblemError,
  paginate,
  parsePageQuery,
  readJsonObject,
  valueOrThrow,
  type Capability,
  type KeyManager,
  type Principal,
  type UsageReport,
} from "@alloovium/core";
import {
  capabilities,
  createKey,
  createProject,
  deleteProject,
  getKey,
  getProject,
  getUsage,
  listCapabilities,
  listKeys,
  listProjects,
  revokeKey,
  rollKey,
  updateKey,
  updateProject,
  whoami,
} from "./capabilities";
import { parseProjectInput, type ProjectStore } from "./projects";

/** What every framework gives a handler: the same for Express, Koa and Hono. */
export interface HandlerInput {
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string | undefined>>;
  /** Raw query string, no `?`. */
  readonly query: string;
  /** Parsed JSON body, when there was one that parsed. */
  readonly body?: unknown;
  /** The body's text when it was not valid JSON. */
  readonly rawBody?: string;
}

/** What a handler answers; `body` is sent as JSON, or nothing when undefined. */
export interface HandlerResult {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export type Handler = (input: HandlerInput) => HandlerResult | Promise<HandlerResult>;

/** A capability and its framework-neutral handler. */
export interface Route {
  readonly capability: Capability;
  readonly handle: Handler;
}

function notFound(): never {
  throw new ProblemError("not_found", "Project not found.");
}

/** `limit` and `cursor` of a list request, or its 400 thrown. */
function pageQuery(query: string) {
  return valueOrThrow(parsePageQuery(query));
}

/** What the handlers work on. */
export interface RouteDeps {
  readonly projects: ProjectStore;
  /** Key lifecycle (create, list, get, update, revoke, roll), over the policy's key store. */
  readonly keys: KeyManager;
  /** The tenant's balance and last 24 hours of usage (`policy.usage`). */
  readonly usage: (tenantId: string) => Promise<UsageReport>;
}

/** The fields a key create takes; no tier: a key takes its creator's. */
const KEY_CREATE_FIELDS = ["name", "environment", "scopes", "expires_at"] as const;

/** The v2 surface's handlers. Errors are thrown as `ProblemError`. */
export function createRoutes({ projects, keys, usage }: RouteDeps): Route[] {
  const keyId = (input: HandlerInput) => input.params["id"] ?? "";
  const project = (input: HandlerInput) => projects.get(input.principal.tenant_id, input.params["id"] ?? "") ?? notFound();
  return [
    // Returns the principal exactly; touches no store.
    { capability: whoami, handle: ({ principal }) => ({ status: 200, body: principal }) },
    {
      capability: listCapabilities,
      handle: ({ principal }) => ({ status: 200, body: { data: capabilities.describe(principal.scopes) } }),
    },
    {
      capability: listProjects,
      handle: ({ principal, query }) => {
        const { data, next_cursor, has_more } = paginate(projects.list(principal.tenant_id), pageQuery(query));
        return { status: 200, body: { data, next_cursor, has_more } }; // the quickstart's member order
      },
    },
    {
      capability: createProject,
      handle: ({ principal, body, rawBody }) => {
        const created = projects.create(principal.tenant_id, parseProjectInput(body, rawBody, false));
        return { status: 201, headers: { location: `/api/v2/vault/projects/${created.id}` }, body: created };
      },
    },
    { capability: getProject, handle: (input) => ({ status: 200, body: project(input) }) },
    {
      capability: updateProject,
      handle: (input) => {
        const id = project(input).id;
        const patch = parseProjectInput(input.body, input.rawBody, true);
        return { status: 200, body: projects.update(input.principal.tenant_id, id, patch) ?? notFound() };
      },
    },
    {
      capability: deleteProject,
      handle: (input) => {
        projects.delete(input.principal.tenant_id, project(input).id);
        return { status: 204 };
      },
    },
    {
      capability: listKeys,
      handle: async ({ principal, query }) => {
        // Paged inside the key store: a page costs its limit, not the tenant's key count.
        const { data, next_cursor, has_more } = await keys.list(principal, pageQuery(query));
        return { status: 200, body: { data, next_cursor, has_more } };
      },
    },
    {
      capability: createKey,
      handle: async ({ principal, body, rawBody }) => {
        const input = readJsonObject({ body, rawBody }, { allowedFields: KEY_CREATE_FIELDS, name: "a key" });
        const created = valueOrThrow(await keys.create(principal, input));
        return { status: 201, headers: { location: `/api/v2/keys/${created.id}` }, body: created };
      },
    },
    { capability: getKey, handle: async (input) => ({ status: 200, body: valueOrThrow(await keys.get(input.principal, keyId(input))) }) },
    {
      capability: updateKey,
      handle: async (input) => {
        const patch = readJsonObject(input); // the manager names each field it cannot change
        return { status: 200, body: valueOrThrow(await keys.update(input.principal, keyId(input), patch)) };
      },
    },
    {
      capability: revokeKey,
      handle: async (input) => {
        readJsonObject(input, { required: false, allowedFields: [], name: "a revocation" });
        return { status: 200, body: valueOrThrow(await keys.revoke(input.principal, keyId(input))) };
      },
    },
    {
      capability: rollKey,
      handle: async (input) => {
        const options = readJsonObject(input, { required: false, allowedFields: ["grace_period_seconds"], name: "a roll" });
        const created = valueOrThrow(await keys.roll(input.principal, keyId(input), options));
        return { status: 201, headers: { location: `/api/v2/keys/${created.id}` }, body: created };
      },
    },
    {
      capability: getUsage,
      handle: async ({ principal }) => {
        const { balance, data } = await usage(principal.tenant_id);
        return { status: 200, body: { balance, data } };
      },
    },
  ];
}

import {
  ProblemError,
  inputOf,
  paginate,
  parsePageQuery,
  valueOrThrow,
  type Capability,
  type InputOf,
  type KeyManager,
  type Principal,
  type RequestInput,
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
import type { ProjectInput, ProjectStore } from "./projects";

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
  /** The parameters, query and body as the capability's schemas parsed them (the context's `input`). */
  readonly input: RequestInput<unknown, unknown, unknown>;
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

/** A route whose handler also gets the input typed by the capability's schemas. */
function typed<C extends Capability>(capability: C, handle: (input: HandlerInput, valid: InputOf<C>) => HandlerResult | Promise<HandlerResult>): Route {
  return { capability, handle: (input) => handle(input, inputOf(capability, input)) };
}

/** The writable fields a project schema let through, without the absent ones. */
function projectFields(body: { name?: string | undefined; description?: string | null | undefined; project_type?: ProjectInput["project_type"] | undefined; status?: ProjectInput["status"] | undefined }): ProjectInput {
  const out: ProjectInput = {};
  if (body.name !== undefined) out.name = body.name;
  if (body.description !== undefined) out.description = body.description;
  if (body.project_type !== undefined) out.project_type = body.project_type;
  if (body.status !== undefined) out.status = body.status;
  return out;
}

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
    // Bodies arrive checked by the capabilities' schemas (400 invalid_body, 422 validation_failed).
    typed(createProject, ({ principal }, { body }) => {
      const created = projects.create(principal.tenant_id, projectFields(body));
      return { status: 201, headers: { location: `/api/v2/vault/projects/${created.id}` }, body: created };
    }),
    { capability: getProject, handle: (input) => ({ status: 200, body: project(input) }) },
    typed(updateProject, (input, { body }) => {
      const id = project(input).id;
      return { status: 200, body: projects.update(input.principal.tenant_id, id, projectFields(body)) ?? notFound() };
    }),
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
    // The key manager judges what a schema cannot: blank names, scope syntax, escalation, expiry.
    typed(createKey, async ({ principal }, { body }) => {
      const created = valueOrThrow(await keys.create(principal, body));
      return { status: 201, headers: { location: `/api/v2/keys/${created.id}` }, body: created };
    }),
    { capability: getKey, handle: async (input) => ({ status: 200, body: valueOrThrow(await keys.get(input.principal, keyId(input))) }) },
    typed(updateKey, async (input, { body }) => ({ status: 200, body: valueOrThrow(await keys.update(input.principal, keyId(input), body)) })),
    { capability: revokeKey, handle: async (input) => ({ status: 200, body: valueOrThrow(await keys.revoke(input.principal, keyId(input))) }) },
    typed(rollKey, async (input, { body }) => {
      const options: Readonly<Record<string, unknown>> = body ?? {};
      const created = valueOrThrow(await keys.roll(input.principal, keyId(input), options));
      return { status: 201, headers: { location: `/api/v2/keys/${created.id}` }, body: created };
    }),
    {
      capability: getUsage,
      handle: async ({ principal }) => {
        const { balance, data } = await usage(principal.tenant_id);
        return { status: 200, body: { balance, data } };
      },
    },
  ];
}

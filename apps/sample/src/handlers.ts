import { ProblemError, isPolicyError, paginate, parsePageQuery, type Capability, type Principal } from "@alloovium/core";
import {
  capabilities,
  createProject,
  deleteProject,
  getProject,
  listCapabilities,
  listProjects,
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

/** The v2 surface's handlers over a project store. Errors are thrown as `ProblemError`. */
export function createRoutes(projects: ProjectStore): Route[] {
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
        const page = parsePageQuery(query);
        if (isPolicyError(page)) throw new ProblemError(page.code, page.detail, page.extensions);
        const { data, next_cursor, has_more } = paginate(projects.list(principal.tenant_id), page);
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
  ];
}

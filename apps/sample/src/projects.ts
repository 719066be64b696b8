import { randomBytes } from "node:crypto";

export const PROJECT_TYPES = ["commercial", "residential", "industrial", "infrastructure", "mixed_use"] as const;
export type ProjectType = (typeof PROJECT_TYPES)[number];
export const PROJECT_STATUSES = ["active", "archived"] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** A vault project as it goes on the wire. */
export interface Project {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly project_type: ProjectType;
  readonly status: ProjectStatus;
  readonly created_at: string;
}

export const NAME_MAX = 200;
export const DESCRIPTION_MAX = 2000;

/** `2026-04-02T10:12:34+00:00`: whole seconds, explicit offset, as the quickstart shows. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + "+00:00";
}

let lastMs = 0;
let seq = 0;
/**
 * A UUIDv7, strictly increasing within the process: `created_at` has whole seconds, so the id
 * (the tie-breaker of the newest-first order) keeps projects created in one second in order.
 */
export function uuidv7(now = Date.now()): string {
  if (now <= lastMs) {
    now = lastMs;
    seq++;
    if (seq > 0xfff) {
      now = ++lastMs;
      seq = 0;
    }
  } else seq = 0;
  lastMs = now;
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Projects per tenant, in memory. A tenant never sees another's: every lookup is by tenant. */
export class ProjectStore {
  readonly #byTenant = new Map<string, Map<string, Project>>();

  #tenant(tenantId: string): Map<string, Project> {
    let m = this.#byTenant.get(tenantId);
    if (!m) this.#byTenant.set(tenantId, (m = new Map()));
    return m;
  }

  list(tenantId: string): Iterable<Project> {
    return this.#byTenant.get(tenantId)?.values() ?? [];
  }

  get(tenantId: string, id: string): Project | undefined {
    return this.#byTenant.get(tenantId)?.get(id);
  }

  create(tenantId: string, input: ProjectInput, now = Date.now()): Project {
    const project: Project = {
      id: uuidv7(now),
      name: input.name ?? "",
      description: input.description ?? null,
      project_type: input.project_type ?? "commercial",
      status: input.status ?? "active",
      created_at: isoSeconds(now),
    };
    this.#tenant(tenantId).set(project.id, project);
    return project;
  }

  update(tenantId: string, id: string, patch: ProjectInput): Project | undefined {
    const old = this.get(tenantId, id);
    if (!old) return undefined;
    const next: Project = { ...old, ...patch };
    this.#tenant(tenantId).set(id, next);
    return next;
  }

  delete(tenantId: string, id: string): boolean {
    return this.#byTenant.get(tenantId)?.delete(id) ?? false;
  }
}

/** The writable fields, as the capabilities' schemas (src/schemas.ts) let them through. */
export interface ProjectInput {
  name?: string;
  description?: string | null;
  project_type?: ProjectType;
  status?: ProjectStatus;
}

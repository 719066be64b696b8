import { defineCapabilities, defineCapability } from "@alloovium/core";
import { CapabilityList, CreatedKey, KeyCreate, KeyPatch, KeyRecord, KeyRevoke, KeyRoll, Principal, Project, ProjectCreate, ProjectPatch, Usage } from "./schemas";

const created = (what: string, schema: typeof Project | typeof CreatedKey) => ({
  201: { description: `The ${what}.`, schema, headers: { location: { description: `The ${what}'s URL.`, required: true } } },
});

/** `GET /api/v2/me`: the calling principal, exactly. No scope, touches no store. */
export const whoami = defineCapability({
  id: "meta.whoami",
  method: "GET",
  path: "/api/v2/me",
  scopes: [],
  cost: 1,
  idempotent: true,
  description: "Identity and capabilities of the calling credential.",
  responses: { 200: { description: "The calling principal.", schema: Principal } },
});

/** `GET /api/v2/capabilities`: every capability, with `allowed` for the caller's scopes. */
export const listCapabilities = defineCapability({
  id: "meta.capabilities",
  method: "GET",
  path: "/api/v2/capabilities",
  scopes: [],
  cost: 1,
  idempotent: true,
  description: "The capabilities of this API and whether the caller may use each.",
  responses: { 200: { description: "Every capability, with `allowed` for the caller.", schema: CapabilityList } },
});

export const listProjects = defineCapability({
  id: "vault.projects.list",
  method: "GET",
  path: "/api/v2/vault/projects",
  scopes: ["vault:read"],
  cost: 1,
  credits: 1,
  idempotent: true,
  description: "The tenant's projects, newest first, cursor paginated.",
  paginated: true,
  responses: { 200: { description: "A page of projects.", schema: Project } },
});

export const createProject = defineCapability({
  id: "vault.projects.create",
  method: "POST",
  path: "/api/v2/vault/projects",
  scopes: ["vault:write"],
  cost: 2,
  credits: 2,
  idempotent: true,
  description: "Creates a project (safe to retry with an Idempotency-Key).",
  body: ProjectCreate,
  responses: created("project", Project),
});

export const getProject = defineCapability({
  id: "vault.projects.get",
  method: "GET",
  path: "/api/v2/vault/projects/{id}",
  scopes: ["vault:read"],
  cost: 1,
  credits: 1,
  idempotent: true,
  description: "One project.",
  responses: { 200: { description: "The project.", schema: Project } },
});

export const updateProject = defineCapability({
  id: "vault.projects.update",
  method: "PATCH",
  path: "/api/v2/vault/projects/{id}",
  scopes: ["vault:write"],
  cost: 2,
  credits: 2,
  idempotent: true,
  description: "Changes a project's name, description, type or status.",
  body: ProjectPatch,
  responses: { 200: { description: "The project as changed.", schema: Project } },
});

export const deleteProject = defineCapability({
  id: "vault.projects.delete",
  method: "DELETE",
  path: "/api/v2/vault/projects/{id}",
  scopes: ["vault:write"],
  cost: 2,
  credits: 2,
  idempotent: true,
  description: "Deletes a project.",
  responses: { 204: { description: "Deleted." } },
});

/** `GET /api/v2/keys`: the tenant's API keys (records only: never a raw key or a digest). */
export const listKeys = defineCapability({
  id: "keys.list",
  method: "GET",
  path: "/api/v2/keys",
  scopes: ["keys:read"],
  cost: 1,
  credits: 0,
  idempotent: true,
  description: "The tenant's API keys, newest first, cursor paginated.",
  paginated: true,
  responses: { 200: { description: "A page of key records.", schema: KeyRecord } },
});

/** `POST /api/v2/keys`: a new key; the raw key is in this answer only, never in a replay. */
export const createKey = defineCapability({
  id: "keys.create",
  method: "POST",
  path: "/api/v2/keys",
  scopes: ["keys:write"],
  cost: 2,
  credits: 0,
  idempotent: true,
  omitFromReplay: ["key"],
  description: "Creates an API key (the raw key is shown once; a replay answers the record without it).",
  body: KeyCreate,
  problems: ["key_limit_reached"],
  responses: created("key", CreatedKey),
});

export const getKey = defineCapability({
  id: "keys.get",
  method: "GET",
  path: "/api/v2/keys/{id}",
  scopes: ["keys:read"],
  cost: 1,
  credits: 0,
  idempotent: true,
  description: "One API key's record.",
  responses: { 200: { description: "The key's record.", schema: KeyRecord } },
});

export const updateKey = defineCapability({
  id: "keys.update",
  method: "PATCH",
  path: "/api/v2/keys/{id}",
  scopes: ["keys:write"],
  cost: 2,
  credits: 0,
  idempotent: true,
  description: "Renames a key or changes its scopes (never beyond the caller's).",
  body: KeyPatch,
  responses: { 200: { description: "The key's record as changed.", schema: KeyRecord } },
});

export const revokeKey = defineCapability({
  id: "keys.revoke",
  method: "POST",
  path: "/api/v2/keys/{id}/revoke",
  scopes: ["keys:write"],
  cost: 2,
  credits: 0,
  idempotent: true,
  description: "Revokes a key at once.",
  body: KeyRevoke,
  responses: { 200: { description: "The revoked key's record.", schema: KeyRecord } },
});

/** `POST /api/v2/keys/{id}/roll`: answers like create, for the new key. */
export const rollKey = defineCapability({
  id: "keys.roll",
  method: "POST",
  path: "/api/v2/keys/{id}/roll",
  scopes: ["keys:write"],
  cost: 2,
  credits: 0,
  idempotent: true,
  omitFromReplay: ["key"],
  description: "Replaces a key; the old one keeps working for grace_period_seconds (0 to 7 days).",
  body: KeyRoll,
  problems: ["key_already_rolled"],
  responses: created("new key", CreatedKey),
});

/** `GET /api/v2/usage`: the tenant's balance and hourly calls and credits over the last 24 hours. */
export const getUsage = defineCapability({
  id: "usage.get",
  method: "GET",
  path: "/api/v2/usage",
  scopes: ["usage:read"],
  cost: 1,
  credits: 0,
  idempotent: true,
  description: "Credit balance and calls and credits per capability per hour, last 24 hours.",
  responses: { 200: { description: "The balance and the last 24 hours of usage.", schema: Usage } },
});

/** The one set of declarations every framework serves. */
export const capabilities = defineCapabilities([
  whoami,
  listCapabilities,
  listProjects,
  createProject,
  getProject,
  updateProject,
  deleteProject,
  listKeys,
  createKey,
  getKey,
  updateKey,
  revokeKey,
  rollKey,
  getUsage,
]);

import { defineCapabilities, defineCapability } from "@alloovium/core";

/** `GET /api/v2/me`: the calling principal, exactly. No scope, touches no store. */
export const whoami = defineCapability({
  id: "meta.whoami",
  method: "GET",
  path: "/api/v2/me",
  scopes: [],
  cost: 1,
  idempotent: true,
  description: "Identity and capabilities of the calling credential.",
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
]);

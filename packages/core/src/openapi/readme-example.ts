import { createOpenApiDocument, defineCapabilities, defineCapability, inputOf, type PolicyContext } from "@alloovium/core";
import { z } from "zod";

export const createProject = defineCapability({
  id: "vault.projects.create", method: "POST", path: "/api/v2/vault/projects",
  scopes: ["vault:write"], cost: 2, credits: 2, idempotent: true,
  body: z.object({ name: z.string().min(1).max(200), project_type: z.enum(["commercial", "residential"]) }),
  responses: { 201: { description: "The project.", schema: z.object({ id: z.string(), name: z.string() }) } },
});

export const document = createOpenApiDocument(defineCapabilities([createProject]), { title: "Acme API", version: "2.0.0" });

/** A handler behind any adapter: the body arrives validated (422 validation_failed otherwise) and typed. */
export function handle(context: PolicyContext) {
  const { body } = inputOf(createProject, context); // { name: string; project_type: "commercial" | "residential" }
  return { status: 201, body: { id: crypto.randomUUID(), name: body.name } };
}

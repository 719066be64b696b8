import { createOpenApiDocument, type OpenApiDocument } from "@alloovium/core";
import { capabilities } from "./capabilities";
import type { ConsoleAsset } from "./console";

/** Where the sample serves its document: no auth, no cost (screened like /healthz). */
export const OPENAPI_PATH = "/api/v2/openapi.json";

const SCOPES: Readonly<Record<string, string>> = {
  "vault:read": "Read vault projects.",
  "vault:write": "Create, change and delete vault projects.",
  "keys:read": "List and read the tenant's API keys.",
  "keys:write": "Create, change, revoke and roll API keys (never beyond the caller's own scopes).",
  "usage:read": "Read the tenant's credit balance and usage.",
};

/**
 * The OpenAPI 3.1 document of the sample's capabilities. The OAuth token URL is the configured
 * issuer's `/oauth/token` (the sample verifies tokens, it does not mint them), or the platform's.
 */
export function sampleOpenApiDocument(oauthIssuer?: string): OpenApiDocument {
  const issuer = (oauthIssuer ?? "https://api.alloovium.com").replace(/\/+$/, "");
  return createOpenApiDocument(capabilities, {
    title: "Alloovium API (sample)",
    version: "2.0.0",
    description: "The Alloovium v2 surface: every operation is a capability with its scopes, rate-limit cost and credit price. Errors are RFC 9457 problem details; branch on `code`.",
    license: { name: "MIT", identifier: "MIT" },
    contact: { name: "Alloovium", url: "https://api.alloovium.com" },
    servers: [{ url: "https://api.alloovium.com", description: "Production", "x-internal": false }],
    oauth: { tokenUrl: `${issuer}/oauth/token`, scopes: SCOPES },
    tags: { meta: "The calling credential and the API's capabilities.", vault: "Vault projects.", keys: "API key management.", usage: "Credits and usage." },
  });
}

/** The document as a static asset of the app, beside the console's files. */
export function openApiAsset(oauthIssuer?: string): ConsoleAsset {
  return {
    path: OPENAPI_PATH,
    headers: { "content-type": "application/json", "cache-control": "no-cache", "x-content-type-options": "nosniff" },
    body: Buffer.from(JSON.stringify(sampleOpenApiDocument(oauthIssuer))),
  };
}

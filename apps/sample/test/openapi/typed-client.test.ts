/**
 * A client generated from the sample's OpenAPI document (openapi-typescript types, committed in
 * api.d.ts, with openapi-fetch) calls the running app: the quickstart's calls (whoami, a page of
 * projects, an idempotent create and its replay, a scope error branched on `code`) and key
 * management. `tsc` type-checks this file against the generated types (`pnpm typecheck`). Every
 * exchange of the client is recorded and checked against the document at the end.
 */
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPENAPI_PATH, sampleOpenApiDocument } from "../../src/openapi";
import { MEMORY, startApp, type App } from "../conformance/support/app";
import type { Exchange } from "../conformance/support/http";
import { createFixture } from "../conformance/support/seed";
import type { paths } from "./api";
import { API_TYPES_FILE, generateApiTypes } from "./client-types";
import { createResponseValidator } from "./response-validator";

const fx = createFixture();
let app: App;
let api: ReturnType<typeof createClient<paths>>;
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The client's exchanges, as the conformance suite records its own. */
const exchanges: Exchange[] = [];
async function recordingFetch(input: Request): Promise<Response> {
  const url = new URL(input.url);
  const response = await fetch(input);
  const text = await response.clone().text();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const type = headers["content-type"];
  exchanges.push({ request: { method: input.method, path: url.pathname + url.search }, response: { status: response.status, headers, rawHeaders: [], text, body, mediaType: type?.split(";")[0]?.trim().toLowerCase() } });
  return response;
}

beforeAll(async () => {
  app = await startApp("hono", MEMORY, fx);
  api = createClient<paths>({ baseUrl: app.server.url, fetch: recordingFetch });
});
afterAll(() => app.close());

describe("the typed client generated from the OpenAPI document", () => {
  it("is generated from the document the app serves (api.d.ts is up to date)", async () => {
    expect(readFileSync(API_TYPES_FILE, "utf8")).toBe(await generateApiTypes());
    const served = await fetch(new URL(OPENAPI_PATH, app.server.url));
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("application/json");
    expect(await served.json()).toEqual(sampleOpenApiDocument());
  });

  it("calls GET /api/v2/me (quickstart step 3) and gets the principal", async () => {
    const { data, error, response } = await api.GET("/api/v2/me", { headers: auth(fx.keys.main) });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    if (data?.auth_method !== "api_key") throw new Error(`expected an API key principal, got ${JSON.stringify(data)}`);
    expect(data.api_key_id).toBe(fx.ids.main);
    expect(data.scopes).toEqual([...data.scopes].sort());
  });

  it("lists projects with limit=10, creates one under an Idempotency-Key and replays it (quickstart steps 4 and 6)", async () => {
    const body = { name: "Downtown Tower", project_type: "commercial" as const };
    const params = { header: { "Idempotency-Key": `create-tower-${Date.now()}` } };
    const created = await api.POST("/api/v2/vault/projects", { headers: auth(fx.keys.vault), params, body });
    expect(created.response.status).toBe(201);
    const project = created.data!;
    expect(project).toMatchObject({ name: "Downtown Tower", project_type: "commercial", status: "active", description: null });
    expect(created.response.headers.get("location")).toBe(`/api/v2/vault/projects/${project.id}`);
    const replay = await api.POST("/api/v2/vault/projects", { headers: auth(fx.keys.vault), params, body });
    expect(replay.response.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.data?.id).toBe(project.id);

    const page = await api.GET("/api/v2/vault/projects", { headers: auth(fx.keys.vault), params: { query: { limit: 10 } } });
    expect(page.response.status).toBe(200);
    const ids: string[] = page.data!.data.map((p) => p.id);
    expect(ids).toContain(project.id);
    const cursor: string | null = page.data!.next_cursor;
    expect(cursor === null).toBe(!page.data!.has_more);

    const one = await api.GET("/api/v2/vault/projects/{id}", { headers: auth(fx.keys.vault), params: { path: { id: project.id } } });
    expect(one.data?.name).toBe("Downtown Tower");
  });

  it("branches on the problem's code (quickstart step 5): insufficient_scope with missing_scopes", async () => {
    const { data, error, response } = await api.POST("/api/v2/vault/projects", { headers: auth(fx.keys.readOnly), body: { name: "x", project_type: "commercial" } });
    expect(data).toBeUndefined();
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    if (error?.code !== "insufficient_scope") throw new Error(`expected insufficient_scope, got ${JSON.stringify(error)}`);
    expect(error.missing_scopes).toEqual(["vault:write"]);
    expect(error.detail).toBe("API key is missing required scope: vault:write");
  });

  it("answers a body the schema refuses with 422 validation_failed and its field errors", async () => {
    // Cast: the generated types refuse this body at compile time, which is the point of them.
    const { error, response } = await api.POST("/api/v2/vault/projects", { headers: auth(fx.keys.vault), body: { name: "", project_type: "castle" } as never });
    expect(response.status).toBe(422);
    if (error?.code !== "validation_failed") throw new Error(`expected validation_failed, got ${JSON.stringify(error)}`);
    expect(error.errors.map((e) => e.field)).toEqual(["name", "project_type"]);
  });

  it("creates, lists and revokes a key, and reads usage", async () => {
    const created = await api.POST("/api/v2/keys", { headers: auth(fx.keys.keys), body: { name: "typed client", environment: "live", scopes: ["vault:read"] } });
    expect(created.response.status).toBe(201);
    const key = created.data!;
    expect(key.key).toMatch(/^ak_live_/);
    const list = await api.GET("/api/v2/keys", { headers: auth(fx.keys.keys), params: { query: { limit: 100 } } });
    expect(list.data!.data.some((k) => k.id === key.id)).toBe(true);
    const revoked = await api.POST("/api/v2/keys/{id}/revoke", { headers: auth(fx.keys.keys), params: { path: { id: key.id } } });
    expect(revoked.data?.status).toBe("revoked");
    const usage = await api.GET("/api/v2/usage", { headers: auth(fx.keys.keys) });
    expect(typeof usage.data?.balance).toBe("number");
  });

  it("got only answers the document describes (status, media type, body, headers)", () => {
    const report = createResponseValidator(sampleOpenApiDocument()).check(exchanges);
    expect(report.failures).toEqual([]);
    expect(report.checked).toBe(11); // every call above names an operation
  });
});

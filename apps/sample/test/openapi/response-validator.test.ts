import { describe, expect, it } from "vitest";
import { capabilities } from "../../src/capabilities";
import { sampleOpenApiDocument } from "../../src/openapi";
import type { Exchange, WireRequest } from "../conformance/support/http";
import { createResponseValidator } from "./response-validator";

const POLICY = '"tokens";q=600;w=60, "credits";q=100000';
const LIMIT = '"tokens";r=599;t=1, "credits";r=99999';
const principal = { user_id: "u", tenant_id: "t", auth_method: "oauth", client_id: "c", scopes: ["vault:read"] };

function exchange(request: WireRequest, status: number, headers: Record<string, string>, body?: unknown): Exchange {
  const text = body === undefined ? "" : JSON.stringify(body);
  const type = headers["content-type"];
  return { request, response: { status, headers, rawHeaders: [], text, body, mediaType: type?.split(";")[0] } };
}

describe("the response check against the sample's document", () => {
  const validator = createResponseValidator(sampleOpenApiDocument());
  const ok = { "content-type": "application/json", ratelimit: LIMIT, "ratelimit-policy": POLICY };

  it("reads one operation per capability from the document, and nothing else", () => {
    expect(validator.operationIds().sort()).toEqual(capabilities.list.map((c) => c.id).sort());
  });

  it("passes a response the document describes", () => {
    const report = validator.check([exchange({ path: "/api/v2/me" }, 200, ok, principal)]);
    expect(report).toMatchObject({ failures: [], checked: 1, outside: 0 });
  });

  it("fails an undeclared status, a body off the schema, a missing required header, a bad header value and a body where none is declared", () => {
    const { failures } = validator.check([
      exchange({ path: "/api/v2/me" }, 404, { "content-type": "application/problem+json" }, { code: "not_found" }),
      exchange({ path: "/api/v2/me" }, 200, ok, { ...principal, extra: 1 }),
      exchange({ path: "/api/v2/me" }, 200, { "content-type": "application/json", ratelimit: LIMIT }, principal),
      exchange({ path: "/api/v2/me" }, 200, { ...ok, ratelimit: "587" }, principal),
      exchange({ method: "DELETE", path: "/api/v2/vault/projects/x" }, 204, { ratelimit: LIMIT, "ratelimit-policy": POLICY }, { deleted: true }),
      exchange({ path: "/api/v2/me" }, 401, { "content-type": "application/problem+json" }, { type: "https://api.alloovium.com/errors/missing_credentials", title: "Missing credentials", status: 401, detail: "x", code: "missing_credentials" }),
    ]);
    expect(failures).toHaveLength(6);
    expect(failures[0]).toMatch(/meta.whoami GET \/api\/v2\/me -> 404: status not in the document/);
    expect(failures[1]).toMatch(/unevaluated|additional/);
    expect(failures[2]).toMatch(/required header RateLimit-Policy missing/);
    expect(failures[3]).toMatch(/header RateLimit: "587"/);
    expect(failures[4]).toMatch(/a body where the document declares none/);
    expect(failures[5]).toMatch(/required header WWW-Authenticate missing/);
  });

  it("leaves requests that name no operation outside", () => {
    const report = validator.check([exchange({ path: "/healthz" }, 200, ok, { status: "ok" }), exchange({ method: "HEAD", path: "/api/v2/me" }, 200, ok)]);
    expect(report).toMatchObject({ failures: [], checked: 0, outside: 2 });
  });
});

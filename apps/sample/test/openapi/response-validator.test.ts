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
    expect(failures).toHaveLength(7);
    expect(failures[0]).toMatch(/meta.whoami GET \/api\/v2\/me -> 404: status not in the document/);
    expect(failures[1]).toMatch(/unevaluated|additional/);
    expect(failures[2]).toMatch(/required header RateLimit-Policy missing/);
    expect(failures[3]).toMatch(/header RateLimit: "587"/);
    expect(failures[4]).toMatch(/a body where the document declares none/);
    expect(failures[5]).toMatch(/missing_credentials requires header WWW-Authenticate, missing/);
    expect(failures[6]).toMatch(/required header WWW-Authenticate missing/);
  });

  it("fails a problem without the headers its code requires, or with one its code must not carry (review #8)", () => {
    const problem = (code: string, status: number, title: string, extra: Record<string, unknown> = {}) => ({ type: `https://api.alloovium.com/errors/${code}`, title, status, detail: "x", code, ...extra });
    const pj = { "content-type": "application/problem+json" };
    const limited = problem("rate_limited", 429, "Rate limited", { cost: 1, remaining: 0, limit: 600 });
    const failuresOf = (e: Exchange) => validator.check([e]).failures;
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 429, pj, limited))).toEqual([expect.stringMatching(/-> 429: rate_limited requires header Retry-After, missing/)]);
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 429, { ...pj, "retry-after": "3" }, limited))).toEqual([]);
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 503, pj, problem("service_unavailable", 503, "Service unavailable")))).toContainEqual(expect.stringMatching(/-> 503: service_unavailable requires header Retry-After, missing/));
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 400, pj, problem("malformed_authorization", 400, "Malformed Authorization header")))).toEqual([expect.stringMatching(/-> 400: malformed_authorization requires header WWW-Authenticate, missing/)]);
    const scope = problem("insufficient_scope", 403, "Insufficient scope", { missing_scopes: ["vault:write"] });
    const create = { method: "POST", path: "/api/v2/vault/projects" };
    expect(failuresOf(exchange(create, 403, pj, scope))).toEqual([expect.stringMatching(/-> 403: insufficient_scope requires header WWW-Authenticate, missing/)]);
    expect(failuresOf(exchange(create, 403, { ...pj, "www-authenticate": 'Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"' }, scope))).toEqual([]);
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 400, pj, problem("invalid_body", 400, "Invalid body")))).toEqual([]);
    expect(failuresOf(exchange({ path: "/api/v2/me" }, 429, { ...pj, "retry-after": "3" }, problem("cost_exceeds_capacity", 429, "Cost exceeds capacity", { cost: 1000, limit: 600 })))).toEqual([expect.stringMatching(/-> 429: cost_exceeds_capacity must not carry header Retry-After/)]);
  });

  it("leaves requests that name no operation outside", () => {
    const report = validator.check([exchange({ path: "/healthz" }, 200, ok, { status: "ok" }), exchange({ method: "HEAD", path: "/api/v2/me" }, 200, ok)]);
    expect(report).toMatchObject({ failures: [], checked: 0, outside: 2 });
  });
});

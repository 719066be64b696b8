import { describe, expect, expectTypeOf, it } from "vitest";
import { catalogue, isProblemCode, type ProblemCode } from "./catalogue";
import { ProblemError, problem, problemResponse } from "./problem";

describe("problems", () => {
  it("builds the seeds' insufficient_scope body", () => {
    expect(problem("insufficient_scope", "API key is missing required scope: vault:write", { missing_scopes: ["vault:write"] })).toEqual({
      type: "https://api.alloovium.com/errors/insufficient_scope",
      title: "Insufficient scope",
      status: 403,
      detail: "API key is missing required scope: vault:write",
      code: "insufficient_scope",
      missing_scopes: ["vault:write"],
    });
  });

  it("uses a configured type base and never lets an extension overwrite a standard member", () => {
    const p = problem("not_found", "gone", { status: 200, extra: 1 } as never, { typeBase: "https://errors.example/" });
    expect(p.type).toBe("https://errors.example/not_found");
    expect(p.status).toBe(404);
    expect(p.extra).toBe(1);
  });

  it("renders application/problem+json with the catalogue's status", () => {
    const r = problemResponse({ code: "rate_limited", detail: "slow down", headers: { "retry-after": "3" } });
    expect(r.status).toBe(429);
    expect(r.headers).toEqual({ "retry-after": "3", "content-type": "application/problem+json" });
  });

  it("covers every code of the contract's table with its status", () => {
    const table: Record<string, number> = {
      malformed_authorization: 400, credential_location_not_allowed: 400, duplicate_credentials: 400, missing_credentials: 401,
      unsupported_auth_scheme: 401, invalid_api_key: 401, api_key_revoked: 401, api_key_expired: 401, invalid_token: 401,
      token_expired: 401, insufficient_scope: 403, environment_mismatch: 403, rate_limited: 429, cost_exceeds_capacity: 429,
      invalid_idempotency_key: 400, idempotency_key_required: 400, idempotency_key_in_use: 409, idempotency_key_reused: 422,
      idempotency_unavailable: 503, invalid_parameter: 400, invalid_cursor: 400, invalid_body: 400, validation_failed: 422,
      not_found: 404, method_not_allowed: 405, payload_too_large: 413, unsupported_media_type: 415, internal_error: 500,
      insufficient_credits: 402, service_unavailable: 503, key_already_rolled: 409, key_limit_reached: 409,
      malformed_request: 400, headers_too_large: 431,
    };
    expect(Object.fromEntries(Object.entries(catalogue).map(([c, e]) => [c, e.status]))).toEqual(table);
    expect(isProblemCode("not_found")).toBe(true);
    expect(isProblemCode("nope")).toBe(false);
  });

  it("types codes so that an unknown one does not compile", () => {
    expectTypeOf<"not_found">().toMatchTypeOf<ProblemCode>();
    // Compiled, never run: the typecheck fails if an unknown code is accepted.
    const unknownCode = () =>
      // @ts-expect-error: not a catalogue code
      problem("no_such_code", "x");
    expect(typeof unknownCode).toBe("function");
    const e = new ProblemError("validation_failed", "bad", { errors: [{ field: "name", message: "required" }] });
    expect(e.status).toBe(422);
  });
});

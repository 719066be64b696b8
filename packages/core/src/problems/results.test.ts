import { describe, expect, expectTypeOf, it } from "vitest";
import { parsePageQuery } from "../pagination";
import { insufficientScope } from "../scopes";
import { ProblemError, policyError, problemResponse, validationFailed, valueOrThrow, type PolicyError } from "./problem";

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("valueOrThrow", () => {
  it("returns a value that is not a problem, as it is", () => {
    const page = { limit: 10, cursor: null };
    expect(valueOrThrow<typeof page>(page)).toBe(page);
    expect(valueOrThrow(parsePageQuery("limit=5"))).toEqual({ limit: 5, cursor: null });
    expect(valueOrThrow<number | null>(null)).toBeNull();
    expectTypeOf(valueOrThrow(parsePageQuery(""))).toEqualTypeOf<{ readonly limit: number; readonly cursor: null | import("../pagination").Cursor }>();
  });

  it("throws a PolicyError as a ProblemError with its code, detail, extension members and headers", () => {
    const scope = insufficientScope("api_key", ["keys:write"], ["keys:write"]);
    const e = thrown(() => valueOrThrow<string>(scope));
    expect(e).toBeInstanceOf(ProblemError);
    const p = e as ProblemError;
    expect([p.code, p.status, p.detail]).toEqual(["insufficient_scope", 403, scope.detail]);
    expect(p.extensions).toEqual({ missing_scopes: ["keys:write"] });
    expect(p.headers?.["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    // Rendered, it is the same response as the PolicyError itself.
    expect(problemResponse(p)).toEqual(problemResponse(scope));
  });

  it("throws a 503 with its Retry-After, and a ProblemError as it is", () => {
    const outage = policyError("service_unavailable", "retry", undefined, { "retry-after": "1" });
    expect((thrown(() => valueOrThrow<string>(outage)) as ProblemError).headers).toEqual({ "retry-after": "1" });
    const own = new ProblemError("not_found", "gone");
    expect(thrown(() => valueOrThrow<string | PolicyError>(own))).toBe(own);
  });

  it("throws 400 invalid_parameter from a page query", () => {
    expect((thrown(() => valueOrThrow(parsePageQuery("limit=0"))) as ProblemError).code).toBe("invalid_parameter");
  });
});

describe("validationFailed", () => {
  it("is 422 validation_failed with errors of {field, message} only, in order, and a count in the detail", () => {
    const one = validationFailed([{ field: "name", message: "is required" }]);
    expect(one).toEqual({ code: "validation_failed", detail: "The request has 1 invalid field.", extensions: { errors: [{ field: "name", message: "is required" }] } });
    const extra = { field: "b", message: "bad", hint: "dropped" } as { field: string; message: string };
    const two = problemResponse(validationFailed([{ field: "a", message: "bad" }, extra]));
    expect(two.status).toBe(422);
    expect(two.body.detail).toBe("The request has 2 invalid fields.");
    expect(two.body["errors"]).toEqual([{ field: "a", message: "bad" }, { field: "b", message: "bad" }]);
  });
});

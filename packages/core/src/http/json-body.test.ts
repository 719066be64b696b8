import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProblemError, problemResponse, type FieldError } from "../problems";
import { readJsonObject, type ReadJsonObjectOptions } from "./json-body";

/** The ProblemError `readJsonObject` throws for this request, or a failure when it returns. */
function refusal(request: { body?: unknown; rawBody?: string }, options?: ReadJsonObjectOptions): ProblemError {
  try {
    readJsonObject(request, options);
  } catch (e) {
    if (e instanceof ProblemError) return e;
    throw e;
  }
  throw new Error("expected a ProblemError");
}

const errorsOf = (e: ProblemError) => e.extensions?.["errors"] as FieldError[];

// What JSON.parse gives for a JSON value that is not an object: null, booleans, numbers, strings, arrays.
const nonObjectJson = fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v));

// An object as JSON.parse builds it (own members only, `__proto__` included as a plain member).
const member = fc.oneof(fc.string(), fc.constantFrom("__proto__", "constructor", "toString", "name", "scopes"));
const jsonObject = fc
  .uniqueArray(fc.tuple(member, fc.jsonValue()), { selector: ([k]) => k, maxLength: 8 })
  .map((entries) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as Record<string, unknown>);

describe("readJsonObject", () => {
  it("returns the parsed object itself", () => {
    const body = { name: "CI", scopes: ["vault:read"] };
    expect(readJsonObject({ body })).toBe(body);
    expect(readJsonObject({ body }, { allowedFields: ["name", "scopes", "expires_at"] })).toBe(body);
  });

  it("answers 400 invalid_body for a body that is not valid JSON, whatever the options", () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (rawBody, required) => {
        const e = refusal({ rawBody }, { required, allowedFields: [] });
        expect(e.code).toBe("invalid_body");
        expect(e.status).toBe(400);
        expect(e.detail).toBe("The request body is not valid JSON.");
        expect(e.extensions).toBeUndefined();
      }),
    );
  });

  it("answers 400 invalid_body for a missing body by default, and reads it as {} when not required", () => {
    const e = refusal({});
    expect([e.code, e.status, e.detail]).toEqual(["invalid_body", 400, "A JSON object body is required."]);
    expect(refusal({}, { required: true }).code).toBe("invalid_body");
    const empty = readJsonObject({}, { required: false, allowedFields: [] });
    expect(empty).toEqual({});
    expect(readJsonObject({}, { required: false })).not.toBe(empty); // a fresh object each time
  });

  it("answers 422 validation_failed with errors [{field: body}] for any JSON value that is not an object", () => {
    fc.assert(
      fc.property(nonObjectJson, fc.boolean(), (body, required) => {
        const e = refusal({ body }, { required });
        expect(e.code).toBe("validation_failed");
        expect(e.status).toBe(422);
        expect(errorsOf(e)).toEqual([{ field: "body", message: "must be a JSON object" }]);
      }),
    );
  });

  it("lists exactly the members not allowed, in the body's order, and passes any other object through", () => {
    fc.assert(
      fc.property(jsonObject, fc.uniqueArray(member, { maxLength: 6 }), (body, allowedFields) => {
        const unknown = Object.keys(body).filter((k) => !allowedFields.includes(k));
        if (unknown.length === 0) {
          expect(readJsonObject({ body }, { allowedFields })).toBe(body);
          return;
        }
        const e = refusal({ body }, { allowedFields, name: "a key" });
        expect(e.code).toBe("validation_failed");
        expect(e.detail).toBe(`The request has ${unknown.length} invalid field${unknown.length === 1 ? "" : "s"}.`);
        expect(errorsOf(e)).toEqual(unknown.map((field) => ({ field, message: "is not a writable field of a key" })));
      }),
    );
  });

  it("lets any object through when allowedFields is omitted", () => {
    fc.assert(
      fc.property(jsonObject, (body) => {
        expect(readJsonObject({ body })).toBe(body);
      }),
    );
  });

  it("refuses a __proto__ member that is not allowed (JSON.parse makes it an own member)", () => {
    const body = JSON.parse('{"name":"x","__proto__":{"admin":true}}') as Record<string, unknown>;
    expect(errorsOf(refusal({ body }, { allowedFields: ["name"] }))).toEqual([
      { field: "__proto__", message: "is not a writable field of the request body" },
    ]);
  });

  it("renders as the contract's problem: 422, problem+json, errors of {field, message} only", () => {
    const res = problemResponse(refusal({ body: { name: "x", tier: "pro", extra: 1 } }, { allowedFields: ["name"], name: "a key" }));
    expect(res.status).toBe(422);
    expect(res.headers["content-type"]).toBe("application/problem+json");
    expect(res.body).toEqual({
      type: "https://api.alloovium.com/errors/validation_failed",
      title: res.body.title,
      status: 422,
      detail: "The request has 2 invalid fields.",
      code: "validation_failed",
      errors: [
        { field: "tier", message: "is not a writable field of a key" },
        { field: "extra", message: "is not a writable field of a key" },
      ],
    });
  });

  it("throws a TypeError naming allowedFields when it is not an array", () => {
    expect(() => readJsonObject({ body: {} }, { allowedFields: "name" as unknown as string[] })).toThrow(/`allowedFields`/);
  });
});

import { ProblemError } from "@alloovium/core";

/**
 * The handler's view of a JSON request body: 400 `invalid_body` when it did not parse (or is
 * missing and `required`), 422 `validation_failed` (field `body`) when it is not an object.
 * An absent optional body reads as `{}`.
 */
export function readJsonObject(body: unknown, rawBody: string | undefined, required: boolean): Record<string, unknown> {
  if (rawBody !== undefined) throw new ProblemError("invalid_body", "The request body is not valid JSON.");
  if (body === undefined) {
    if (required) throw new ProblemError("invalid_body", "A JSON object body is required.");
    return {};
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ProblemError("validation_failed", "The request body must be a JSON object.", { errors: [{ field: "body", message: "must be a JSON object" }] });
  }
  return body as Record<string, unknown>;
}

/** 422 `validation_failed` listing every member of `body` that is not in `allowed`. */
export function refuseUnknownFields(body: Readonly<Record<string, unknown>>, allowed: readonly string[], what: string): void {
  const errors = Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((field) => ({ field, message: `is not a writable field of ${what}` }));
  if (errors.length > 0) {
    throw new ProblemError("validation_failed", `The request has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}.`, { errors });
  }
}

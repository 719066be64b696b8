import { ProblemError, validationFailed, type FieldError } from "../problems";

/** Options of `readJsonObject`. */
export interface ReadJsonObjectOptions {
  /**
   * When true, a request without a body is 400 `invalid_body`; when false it reads as `{}` (a
   * revoke or roll whose options are all optional).
   * @default true
   */
  readonly required?: boolean;
  /**
   * The members the body may have: any other member is 422 `validation_failed`, each listed in
   * `errors` with `field` its name. Omitted: any member is let through, for the handler to check.
   * @default undefined
   */
  readonly allowedFields?: readonly string[];
  /**
   * What the body is, in the message of an unknown member: `"is not a writable field of a key"`.
   * @default "the request body"
   */
  readonly name?: string;
}

const NOT_AN_OBJECT: readonly FieldError[] = Object.freeze([Object.freeze({ field: "body", message: "must be a JSON object" })]);

/**
 * The JSON object a handler works on, from the request's `body` and `rawBody` (a
 * `PolicyRequest`, what an adapter hands the handler, or `readJsonBody`'s result): the parsed
 * object itself, not a copy.
 * Throws a `ProblemError` for the adapter to render:
 * - 400 `invalid_body` when the body is not valid JSON (`rawBody` is set), or is missing and
 *   `required`;
 * - 422 `validation_failed` with `errors: [{ field: "body", message }]` when it is JSON but not
 *   an object (an array, a string, a number, `true`, `null`);
 * - 422 `validation_failed` listing every member not in `allowedFields`, in the body's order.
 *
 * The reader of the stream is `readJsonBody`; this judges what it read.
 * @example
 * const input = readJsonObject(request, { allowedFields: ["name", "scopes"], name: "a key" });
 * const options = readJsonObject(request, { required: false, allowedFields: ["grace_period_seconds"] });
 */
export function readJsonObject(
  request: { readonly body?: unknown; readonly rawBody?: string | undefined },
  options: ReadJsonObjectOptions = {},
): Record<string, unknown> {
  const { required = true, allowedFields, name = "the request body" } = options;
  if (allowedFields !== undefined && !Array.isArray(allowedFields)) {
    throw new TypeError("readJsonObject: `allowedFields` must be an array of member names");
  }
  if (request.rawBody !== undefined) throw new ProblemError("invalid_body", "The request body is not valid JSON.");
  const body = request.body;
  if (body === undefined) {
    if (required) throw new ProblemError("invalid_body", "A JSON object body is required.");
    return {};
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ProblemError("validation_failed", "The request body must be a JSON object.", { errors: NOT_AN_OBJECT });
  }
  const object = body as Record<string, unknown>;
  if (allowedFields !== undefined) {
    const errors: FieldError[] = [];
    for (const field of Object.keys(object)) {
      if (!allowedFields.includes(field)) errors.push({ field, message: `is not a writable field of ${name}` });
    }
    if (errors.length > 0) {
      const { code, detail, extensions } = validationFailed(errors);
      throw new ProblemError(code, detail, extensions);
    }
  }
  return object;
}

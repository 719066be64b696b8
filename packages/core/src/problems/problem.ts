import { catalogue, type ProblemCode } from "./catalogue";

/** Default base of the `type` URI: `type` is `<base><code>`. */
export const DEFAULT_PROBLEM_TYPE_BASE = "https://api.alloovium.com/errors/";

/** Media type of every 4xx/5xx body. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Extension members must not overwrite the standard ones. */
type Reserved = "type" | "title" | "status" | "detail" | "code";
export type ProblemExtensions = { readonly [name: string]: unknown } & { readonly [K in Reserved]?: never };

/** An RFC 9457 problem details object as it goes on the wire. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly [extension: string]: unknown;
}

/** A response the policy (or a handler) wants written: status, headers and body. */
export interface PolicyResponse<B = unknown> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: B;
}

/**
 * What a policy step returns instead of throwing: a code from the catalogue, a detail for
 * humans, extension members and extra headers. Rendered into a response at the edge.
 */
export interface PolicyError {
  readonly code: ProblemCode;
  readonly detail: string;
  readonly extensions?: ProblemExtensions;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options shared by the problem renderers. */
export interface ProblemOptions {
  /**
   * Base URI of `type`; the code is appended.
   * @default "https://api.alloovium.com/errors/"
   */
  readonly typeBase?: string;
}

/**
 * Builds the problem body for `code`.
 * @example problem("not_found", "Project not found")
 */
export function problem(
  code: ProblemCode,
  detail: string,
  extensions?: ProblemExtensions,
  options?: ProblemOptions,
): Problem {
  const entry = catalogue[code];
  const body: Record<string, unknown> = {
    type: (options?.typeBase ?? DEFAULT_PROBLEM_TYPE_BASE) + code,
    title: entry.title,
    status: entry.status,
    detail,
    code,
  };
  if (extensions) {
    for (const name of Object.keys(extensions)) {
      if (name in body) continue; // the standard members are never overwritten
      body[name] = extensions[name];
    }
  }
  return body as unknown as Problem;
}

/** Renders a `PolicyError` into a response with `Content-Type: application/problem+json`. */
export function problemResponse(error: PolicyError, options?: ProblemOptions): PolicyResponse<Problem> {
  return {
    status: catalogue[error.code].status,
    headers: { ...error.headers, "content-type": PROBLEM_CONTENT_TYPE },
    body: problem(error.code, error.detail, error.extensions, options),
  };
}

/**
 * An error a handler may throw to answer with a problem; adapters render it with its status.
 * Below 500 it is the handler's answer (stored for idempotent replay); 500 and above release the
 * idempotency key like any thrown error.
 * @example throw new ProblemError("not_found", "Project not found")
 */
export class ProblemError extends Error implements PolicyError {
  readonly code: ProblemCode;
  readonly detail: string;
  readonly extensions?: ProblemExtensions;
  readonly headers?: Readonly<Record<string, string>>;

  constructor(
    code: ProblemCode,
    detail: string,
    extensions?: ProblemExtensions,
    headers?: Readonly<Record<string, string>>,
  ) {
    super(detail);
    this.name = "ProblemError";
    this.code = code;
    this.detail = detail;
    if (extensions) this.extensions = extensions;
    if (headers) this.headers = headers;
  }

  /** The HTTP status of this problem's code. */
  get status(): number {
    return catalogue[this.code].status;
  }
}

/**
 * A `PolicyError` value: a problem code from the catalogue, its detail, extension members and
 * headers.
 * @example return policyError("not_found", "Project not found.");
 */
export function policyError(
  code: ProblemCode,
  detail: string,
  extensions?: ProblemExtensions,
  headers?: Readonly<Record<string, string>>,
): PolicyError {
  const e: { -readonly [K in keyof PolicyError]: PolicyError[K] } = { code, detail };
  if (extensions) e.extensions = extensions;
  if (headers) e.headers = headers;
  return e;
}

/**
 * True for a `PolicyError` value (what policy steps return instead of a result).
 * @example
 * const result = await keys.revoke(principal, id);
 * if (isPolicyError(result)) return reply(policy.reject(result).response);
 */
export function isPolicyError(v: unknown): v is PolicyError {
  return v !== null && typeof v === "object" && typeof (v as PolicyError).code === "string" && typeof (v as PolicyError).detail === "string";
}

/** The 500 answer for an unexpected error: no stack, no message, no secrets. */
export function internalError(): PolicyError {
  return policyError("internal_error", "The server failed to complete the request.");
}

// Helpers for handlers: what a handler does with a step's result or a bad field.

/** One member of the `errors` of a 422 `validation_failed`: the field and what is wrong with it. */
export interface FieldError {
  /** The member of the body (or the parameter) that is wrong, e.g. `"name"`. */
  readonly field: string;
  /** What is wrong, for humans, e.g. `"is required"`. */
  readonly message: string;
}

/** At most this many field errors are listed in a 422 `validation_failed` (the detail counts them all). */
export const MAX_FIELD_ERRORS = 100;
/** A field error's `field` is cut to this many characters (code points), `…` included. */
export const MAX_FIELD_LENGTH = 200;
/** A field error's `message` is cut to this many characters (code points), `…` included. */
export const MAX_FIELD_MESSAGE_LENGTH = 500;

/** `text` cut to at most `max` code points, the last one `…` when it was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text; // code units >= code points
  const points = [...text];
  return points.length <= max ? text : `${points.slice(0, max - 1).join("")}…`;
}

/**
 * 422 `validation_failed` listing the field errors in `errors: [{ field, message }]`, in the
 * order given: the first `MAX_FIELD_ERRORS` (100) of them, each `field` cut to 200 characters
 * and `message` to 500; the detail counts them all. Pass at least one error.
 * @example
 * if (typeof body["name"] !== "string") return validationFailed([{ field: "name", message: "is required" }]);
 */
export function validationFailed(errors: readonly FieldError[]): PolicyError {
  const n = errors.length;
  const list = errors.slice(0, MAX_FIELD_ERRORS).map(({ field, message }) => ({ field: clip(String(field), MAX_FIELD_LENGTH), message: clip(String(message), MAX_FIELD_MESSAGE_LENGTH) }));
  const listed = n > list.length ? ` The first ${list.length} are listed.` : "";
  return policyError("validation_failed", `The request has ${n} invalid field${n === 1 ? "" : "s"}.${listed}`, { errors: list });
}

/**
 * The value of a result that is either a value or a `PolicyError` (what `KeyManager`,
 * `parsePageQuery` and other policy steps return), or its problem thrown as a `ProblemError`
 * with the same code, detail, extension members and headers (the scope challenge, `Retry-After`),
 * for the adapter to render. A `ProblemError` is thrown as it is.
 * @example
 * const created = valueOrThrow(await keys.create(principal, body)); // a CreatedKey, or a 4xx/503 thrown
 * return { status: 201, body: created };
 */
export function valueOrThrow<T>(result: T | PolicyError): T {
  if (result instanceof ProblemError) throw result;
  if (isPolicyError(result)) throw new ProblemError(result.code, result.detail, result.extensions, result.headers);
  return result;
}

import type { Capability } from "../capabilities";
import { bodyOptionalOf, hasJsonSchema, jsonSchemaOf, runSchema, type JsonSchema, type Schema } from "../capabilities/schema";
import type { PolicyRequest } from "../pipeline/request";
import { clip, policyError, validationFailed, type PolicyError } from "../problems/problem";

/** Path parameters as the router matched them, decoded. */
export type RawParams = Readonly<Record<string, string>>;
/** The query as an object: a name given once maps to its value, a repeated one to every value. */
export type RawQuery = Readonly<Record<string, string | readonly string[]>>;

/**
 * What a policy route's handler works on: the path parameters, the query and the JSON body, each
 * parsed by the capability's schema when it declares one, else as read.
 */
export interface RequestInput<Query = RawQuery, Params = RawParams, Body = unknown> {
  readonly params: Params;
  readonly query: Query;
  readonly body: Body;
}

/** The `RequestInput` of a capability, typed by its schemas. */
export type InputOf<C> =
  C extends Capability<infer Q, infer P, infer B> ? RequestInput<unknown extends Q ? RawQuery : Q, unknown extends P ? RawParams : P, B> : RequestInput<RawQuery, RawParams, unknown>;

/** The path parameters of `path` under the capability's template, by position (the router already matched it). */
export function paramsOf(capability: Pick<Capability, "path">, path: string): Record<string, string> {
  const params: Record<string, string> = {};
  const template = capability.path === "/" ? [] : capability.path.slice(1).split("/");
  const parts = path === "/" ? [] : path.slice(1).split("/");
  if (template.length !== parts.length) return params;
  for (let i = 0; i < template.length; i++) {
    const t = template[i] as string;
    if (!t.startsWith("{")) continue;
    const raw = parts[i] as string;
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // kept as written: the gate answered 404 for a path that does not decode
    }
    params[t.slice(1, -1)] = value;
  }
  return params;
}

/** The raw query as an object (`a=1&a=2&b=x` is `{ a: ["1", "2"], b: "x" }`). */
export function queryOf(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (query === "") return out;
  for (const [name, value] of new URLSearchParams(query)) {
    const had = out[name];
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return { ...out };
}

/** The input of a capability without schemas: computed when a handler reads it, not per request. */
class RawInput implements RequestInput {
  #params?: RawParams;
  #query?: RawQuery;
  constructor(
    private readonly capability: Pick<Capability, "path">,
    private readonly request: PolicyRequest,
  ) {}
  get params(): RawParams {
    return (this.#params ??= paramsOf(this.capability, this.request.path));
  }
  get query(): RawQuery {
    return (this.#query ??= queryOf(this.request.query ?? ""));
  }
  get body(): unknown {
    return this.request.body;
  }
}

/** The input of a capability without schemas, as read (each part computed when first read). */
export function rawInput(capability: Pick<Capability, "path">, request: PolicyRequest): RequestInput {
  return new RawInput(capability, request);
}

/** `true` when the capability declares a schema for a part of the request. */
export function validates(capability: Capability): boolean {
  const schemas = capability.schemas as Capability["schemas"] | undefined; // absent on a hand-made capability object
  return schemas !== undefined && (schemas.query !== undefined || schemas.params !== undefined || schemas.body !== undefined);
}

/** `param` of an `invalid_parameter` is cut to this many characters (the document's `maxLength`). */
const MAX_PARAM_LENGTH = 200;

async function parameter(schema: Schema | undefined, value: Record<string, unknown>, where: "query" | "path"): Promise<{ value: unknown } | PolicyError> {
  if (!schema) return { value };
  const r = await runSchema(schema, where === "query" ? asDocumented(schema, value) : value);
  if ("value" in r) return r;
  const first = r.issues[0] ?? { path: "", message: "is invalid" };
  const param = clip(first.path === "" ? where : (first.path.split(".")[0] as string), MAX_PARAM_LENGTH);
  const named = clip(param, 64);
  return policyError("invalid_parameter", `The ${where} parameter \`${named}\` is invalid: ${clip(first.message, 500)}`, { param });
}

type Types = ReadonlySet<string>;
interface QueryShape {
  readonly [name: string]: { readonly types: Types; readonly items: Types };
}
const shapes = new WeakMap<object, QueryShape | null>();

function typesOf(schema: unknown): Types {
  const t = (schema as JsonSchema | undefined)?.["type"];
  return new Set(typeof t === "string" ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === "string") : []);
}

/** The JSON types of each query member the schema documents (computed once per schema). */
function queryShape(schema: Schema): QueryShape | null {
  let shape = shapes.get(schema);
  if (shape !== undefined) return shape;
  shape = null;
  if (hasJsonSchema(schema)) {
    try {
      const properties = jsonSchemaOf(schema, "query")["properties"];
      if (properties && typeof properties === "object") {
        const out: Record<string, { types: Types; items: Types }> = Object.create(null) as Record<string, { types: Types; items: Types }>;
        for (const [name, p] of Object.entries(properties as Record<string, JsonSchema>)) out[name] = { types: typesOf(p), items: typesOf(p["items"]) };
        shape = out;
      }
    } catch {
      shape = null; // no JSON Schema: the values reach the schema as read
    }
  }
  shapes.set(schema, shape);
  return shape;
}

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** A query value as the type the document gives it (form style): `5` a number, `true` a boolean. */
function typed(value: string, types: Types): unknown {
  if (types.size === 0 || types.has("string")) return value;
  if ((types.has("integer") || types.has("number")) && JSON_NUMBER.test(value)) {
    const n = Number(value);
    if (Number.isFinite(n) && (types.has("number") || Number.isInteger(n))) return n;
  }
  if (types.has("boolean") && (value === "true" || value === "false")) return value === "true";
  if (types.has("null") && value === "null") return null;
  return value; // left for the schema to refuse, naming the parameter
}

/**
 * The query as the document describes it (OpenAPI's form style, `explode: true`): a member the
 * JSON Schema gives as an array is an array even when named once, and a value whose documented
 * type is a number, an integer or a boolean is converted to it when it reads as one. Members
 * the JSON Schema does not describe are left as read.
 */
function asDocumented(schema: Schema, query: Record<string, unknown>): Record<string, unknown> {
  const shape = queryShape(schema);
  if (!shape) return query;
  const out: Record<string, unknown> = { ...query };
  for (const [name, value] of Object.entries(query)) {
    const member = Object.hasOwn(shape, name) ? shape[name] : undefined;
    if (!member) continue;
    const set = (v: unknown) => Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true }); // `__proto__` too
    if (member.types.has("array")) set((Array.isArray(value) ? (value as string[]) : [value as string]).map((v) => typed(v, member.items)));
    else if (typeof value === "string") set(typed(value, member.types));
  }
  return out;
}

/**
 * The capability's input, each declared part parsed by its schema; or the problem the request
 * answers: 400 `invalid_parameter` (with `param`) for the query or a path parameter, 400
 * `invalid_body` for a body that is not JSON (or none where one is needed), 422
 * `validation_failed` (with `errors: [{ field, message }]`) for a body the schema refuses.
 * Checked in that order: path, query, body.
 */
export async function validateInput(capability: Capability, request: PolicyRequest): Promise<RequestInput<unknown, unknown, unknown> | PolicyError> {
  if (!validates(capability)) return rawInput(capability, request);
  const { schemas } = capability;
  const params = await parameter(schemas.params, paramsOf(capability, request.path), "path");
  if ("code" in params) return params;
  const query = await parameter(schemas.query, queryOf(request.query ?? ""), "query");
  if ("code" in query) return query;
  let body: unknown = request.body;
  if (schemas.body) {
    if (request.rawBody !== undefined) return policyError("invalid_body", "The request body is not valid JSON.");
    if (request.body === undefined && !bodyOptionalOf(schemas)) return policyError("invalid_body", "A JSON body is required.");
    const r = await runSchema(schemas.body, request.body);
    if ("issues" in r) return validationFailed(r.issues.map((i) => ({ field: i.path === "" ? "body" : i.path, message: i.message })));
    body = r.value;
  }
  return { params: params.value, query: query.value, body };
}

/**
 * The input of a policy route, typed by its capability's schemas: what the adapter put in the
 * route's context (`res.locals`, `ctx.state`, `c.var`) as `input`.
 * @example
 * app.post(createProject.routePath, a.route(createProject), (req, res) => {
 *   const { body } = inputOf(createProject, res.locals); // typed as the schema's output
 * });
 */
export function inputOf<C extends Capability<unknown, unknown, unknown>>(capability: C, context: { readonly input: RequestInput<unknown, unknown, unknown> }): InputOf<C> {
  void capability; // the capability names the type; the gate validated with it
  return context.input as InputOf<C>;
}

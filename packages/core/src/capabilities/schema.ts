import type { StandardJSONSchemaV1, StandardSchemaV1 } from "@standard-schema/spec";

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as a plain object. */
export type JsonSchema = Record<string, unknown>;

/**
 * A schema given with its JSON Schema beside it, for a Standard Schema library that does not
 * carry one (`~standard.jsonSchema`): the document uses `jsonSchema`, validation uses `schema`.
 * @example { schema: v.object({ name: v.string() }), jsonSchema: toJsonSchema(v.object({ name: v.string() })) }
 */
export interface DocumentedSchema<Output = unknown> {
  readonly schema: StandardSchemaV1<unknown, Output>;
  /** A JSON Schema object (draft 2020-12): any converter's output type is accepted. */
  readonly jsonSchema: object;
}

/**
 * What a capability's `query`, `params`, `body` and responses take: any Standard Schema
 * (zod 4, valibot, arktype, ...). Its JSON Schema comes from `~standard.jsonSchema` (Standard
 * JSON Schema: zod 4 carries it, valibot through `toStandardJsonSchema` of
 * `@valibot/to-json-schema`), or is given beside it as a `DocumentedSchema`.
 */
export type Schema<Output = unknown> = StandardSchemaV1<unknown, Output> | DocumentedSchema<Output>;

/** The value a schema parses to. */
export type SchemaOutput<S> = S extends DocumentedSchema<infer O> ? O : S extends StandardSchemaV1<unknown, infer O> ? O : unknown;

function isDocumented(s: Schema): s is DocumentedSchema {
  return typeof s === "object" && s !== null && "schema" in s && "jsonSchema" in s && !("~standard" in s);
}

/** The Standard Schema that validates. */
export function validatorOf(s: Schema): StandardSchemaV1 {
  return isDocumented(s) ? s.schema : s;
}

/** True when `s` can be validated and documented (a start-up check of `defineCapability`). */
export function isSchema(s: unknown): s is Schema {
  if (typeof s !== "object" && typeof s !== "function") return false;
  if (s === null) return false;
  const standard = isDocumented(s as Schema) ? (s as DocumentedSchema).schema : s;
  const props = (standard as { "~standard"?: { version?: unknown; validate?: unknown } })["~standard"];
  return !!props && props.version === 1 && typeof props.validate === "function";
}

function converterOf(s: StandardSchemaV1): Partial<StandardJSONSchemaV1.Converter> | undefined {
  return (s["~standard"] as Partial<StandardJSONSchemaV1.Props>).jsonSchema;
}

/** True when the schema can produce its JSON Schema (given beside it, or `~standard.jsonSchema`). */
export function hasJsonSchema(s: Schema): boolean {
  if (isDocumented(s)) return true;
  const converter = converterOf(s);
  return !!converter && typeof converter.input === "function";
}

/**
 * The JSON Schema of what the schema accepts (its input), draft 2020-12, without `$schema`.
 * Throws a `TypeError` naming `where` when the schema has none.
 */
export function jsonSchemaOf(s: Schema, where: string): JsonSchema {
  let out: JsonSchema;
  if (isDocumented(s)) out = s.jsonSchema as JsonSchema;
  else {
    const converter = converterOf(s);
    if (!converter || typeof converter.input !== "function") {
      throw new TypeError(`${where}: the schema carries no JSON Schema (~standard.jsonSchema); pass { schema, jsonSchema } instead`);
    }
    out = converter.input({ target: "draft-2020-12" });
  }
  const { $schema: _ignored, ...rest } = out;
  return rest;
}

/** One problem a schema found: where (`name`, `scopes.0`; empty at the root) and what. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Runs a Standard Schema: the parsed value, or every issue with its dotted path. An issue naming
 * the unknown `keys` of an object (zod's `unrecognized_keys`) becomes one issue per key, its path
 * the key's. A schema that overflows the stack on its input (a recursive schema given JSON nested
 * deeper than it can walk) refuses the input at its root rather than throwing: bad input, not a bug.
 */
export async function runSchema(s: Schema, value: unknown): Promise<{ readonly value: unknown } | { readonly issues: readonly SchemaIssue[] }> {
  let result: StandardSchemaV1.Result<unknown>;
  try {
    result = await validatorOf(s)["~standard"].validate(value);
  } catch (error) {
    if (error instanceof RangeError) return { issues: [{ path: "", message: "is nested too deeply to validate" }] };
    throw error;
  }
  if (!result.issues) return { value: result.value };
  const issues: SchemaIssue[] = [];
  for (const i of result.issues) {
    const path = pathOf(i.path);
    const keys = (i as { keys?: unknown }).keys;
    if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === "string")) {
      for (const k of keys as string[]) issues.push({ path: path === "" ? k : `${path}.${k}`, message: "is not a known member" });
    } else issues.push({ path, message: i.message });
  }
  return { issues };
}

function pathOf(path: StandardSchemaV1.Issue["path"]): string {
  if (!path || path.length === 0) return "";
  return path.map((p) => String(typeof p === "object" && p !== null ? p.key : p)).join(".");
}

/**
 * Whether the schema accepts no value at all (an optional body), judged once at start-up: a
 * schema whose validation is asynchronous is taken as requiring one.
 */
export function acceptsUndefined(s: Schema): boolean {
  try {
    const r: unknown = validatorOf(s)["~standard"].validate(undefined);
    if (r !== null && typeof r === "object" && typeof (r as PromiseLike<unknown>).then === "function") {
      // Asynchronous: taken as requiring a body. Its outcome is not needed, but a rejection left
      // unhandled would end the process.
      (r as PromiseLike<unknown>).then(undefined, () => undefined);
      return false;
    }
    return !(r as StandardSchemaV1.Result<unknown>).issues;
  } catch {
    return false;
  }
}

const optionalBodies = new WeakMap<object, boolean>();

/**
 * Whether a request without a body passes the capability's `body` schema: judged once per
 * capability (at `defineCapability`, or on first use for a capability object made by hand).
 * Internal: not part of the exported `Capability` type.
 */
export function bodyOptionalOf(schemas: { readonly body?: Schema } | undefined): boolean {
  if (!schemas || schemas.body === undefined) return true;
  let optional = optionalBodies.get(schemas);
  if (optional === undefined) optionalBodies.set(schemas, (optional = acceptsUndefined(schemas.body)));
  return optional;
}

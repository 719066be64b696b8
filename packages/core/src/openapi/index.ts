import type { Capability, HttpMethod } from "../capabilities";
import { bodyOptionalOf, jsonSchemaOf, type JsonSchema } from "../capabilities/schema";
import type { Policy } from "../pipeline/pipeline";
import { MAX_FIELD_ERRORS, MAX_FIELD_LENGTH, MAX_FIELD_MESSAGE_LENGTH } from "../problems/problem";
import { catalogue, type ProblemCode } from "../problems/catalogue";

/** Options of `createOpenApiDocument`. */
export interface OpenApiDocumentOptions {
  /** `info.title`. */
  readonly title: string;
  /** `info.version`: the version of the API (not of this library). */
  readonly version: string;
  /** `info.description`. @default none */
  readonly description?: string;
  /** `info.license`. @default none */
  readonly license?: { readonly name: string; readonly url?: string; readonly identifier?: string };
  /** `info.contact`. @default none */
  readonly contact?: { readonly name?: string; readonly url?: string; readonly email?: string };
  /** `servers`, specification extensions (`x-internal`) included. @default none */
  readonly servers?: readonly { readonly url: string; readonly description?: string; readonly [extension: `x-${string}`]: unknown }[];
  /**
   * OAuth 2 client credentials as a second security scheme, with the token URL and a line per
   * scope (a scope without one is described by its name). @default none: the API key scheme only
   */
  readonly oauth?: { readonly tokenUrl: string; readonly scopes?: Readonly<Record<string, string>> };
  /** The problems' `type` base, as the policy's option. @default "https://api.alloovium.com/errors/" */
  readonly problemTypeBase?: string;
  /**
   * The methods that honour `Idempotency-Key`, as the policy's option (a `TypeError` when `policy`
   * is given and honours others). @default the policy's, else ["POST", "PATCH"]
   */
  readonly idempotencyMethods?: readonly HttpMethod[];
  /**
   * The policy that serves the capabilities: its settings are taken rather than restated (the
   * methods that honour `Idempotency-Key`; 402 `insufficient_credits` only where it meters
   * credits). @default none: `idempotencyMethods` as given, credits metered
   */
  readonly policy?: Pick<Policy, "credits" | "idempotencyMethods">;
  /** A line per tag (a capability's tag is the first part of its id: `vault` of `vault.projects.list`). @default none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** An OpenAPI 3.1 document, as JSON. */
export type OpenApiDocument = Record<string, unknown>;

/** The extension members of each problem code, beside `type, title, status, detail, code`. */
const EXTENSIONS: Partial<Record<ProblemCode, { readonly properties: Record<string, JsonSchema>; readonly required: readonly string[] }>> = {
  credential_location_not_allowed: {
    properties: { location: { type: "string", enum: ["query", "cookie", "header", "body", "path"] }, parameter: { type: "string", maxLength: 300 } },
    required: ["location"],
  },
  environment_mismatch: { properties: { environment: { type: "string", enum: ["live", "test"], description: "The environment the request may act in." } }, required: ["environment"] },
  insufficient_scope: { properties: { missing_scopes: { type: "array", items: { type: "string", maxLength: 200 }, maxItems: 1000 } }, required: ["missing_scopes"] },
  rate_limited: { properties: { cost: count(), remaining: count(), limit: count() }, required: ["cost", "remaining", "limit"] },
  cost_exceeds_capacity: { properties: { cost: count(), limit: count() }, required: ["cost", "limit"] },
  insufficient_credits: { properties: { balance: count(true), required: count() }, required: ["balance", "required"] },
  payload_too_large: { properties: { limit_bytes: count() }, required: ["limit_bytes"] },
  invalid_parameter: { properties: { param: { type: "string", maxLength: 200 } }, required: ["param"] },
  invalid_cursor: { properties: { param: { type: "string", maxLength: 200 } }, required: [] },
  validation_failed: { properties: { errors: { type: "array", items: { $ref: "#/components/schemas/FieldError" }, minItems: 1, maxItems: MAX_FIELD_ERRORS } }, required: ["errors"] },
  key_limit_reached: { properties: { limit: count() }, required: ["limit"] },
};

function count(signed = false): JsonSchema {
  return { type: "integer", format: "int64", minimum: signed ? Number.MIN_SAFE_INTEGER : 0, maximum: Number.MAX_SAFE_INTEGER };
}

/** Response headers, by component name. */
const HEADERS: Record<string, JsonSchema> = {
  RateLimit: {
    description: 'The remaining quota of each policy (draft-ietf-httpapi-ratelimit-headers): `"tokens";r=587;t=1`, and `"credits";r=<balance>` where credits are on.',
    schema: { type: "string", maxLength: 500, pattern: '^"[a-z_]+";r=-?[0-9]+(;t=[0-9]+)?(, "[a-z_]+";r=-?[0-9]+(;t=[0-9]+)?)*$' },
  },
  "RateLimit-Policy": {
    description: 'The quota policies: `"tokens";q=600;w=60` (and `"tenant"`, `"credits";q=<grant>`).',
    schema: { type: "string", maxLength: 500, pattern: '^"[a-z_]+";q=[0-9]+(;w=[0-9]+)?(, "[a-z_]+";q=[0-9]+(;w=[0-9]+)?)*$' },
  },
  "Retry-After": { description: "Whole seconds to wait before retrying.", schema: { type: "string", maxLength: 10, pattern: "^[0-9]{1,10}$" } },
  "WWW-Authenticate": { description: 'The bearer challenge (RFC 6750): `Bearer realm="alloovium"`, with `error` (and `scope`) where one applies.', schema: { type: "string", maxLength: 1000, pattern: "^Bearer realm=" } },
  "Idempotent-Replayed": { description: "`true` on a response replayed for a repeated Idempotency-Key.", schema: { type: "string", enum: ["true"] } },
};

const AUTHENTICATION: readonly ProblemCode[] = [
  "malformed_authorization",
  "credential_location_not_allowed",
  "duplicate_credentials",
  "missing_credentials",
  "unsupported_auth_scheme",
  "invalid_api_key",
  "api_key_revoked",
  "api_key_expired",
  "invalid_token",
  "token_expired",
  "insufficient_scope",
];

/**
 * The headers each problem code must carry (`required`), may carry (`optional`) or must not (`absent`), as the contract
 * says: the bearer challenge on every refusal from authentication (sections 1 and 6; not on 403
 * `environment_mismatch`, which key management also answers about the key to create, without one),
 * `Retry-After` on a 429 `rate_limited`, a 409 `idempotency_key_in_use` and a 503, never on a 429
 * `cost_exceeds_capacity` or a 402 (section 4). Written on each `Problem_<code>` schema as
 * `x-alloovium-headers`, and on each response as `required` where every code of its status requires it.
 */
const CODE_HEADERS: Partial<Record<ProblemCode, Readonly<Record<string, "required" | "optional" | "absent">>>> = {
  ...Object.fromEntries(AUTHENTICATION.map((c) => [c, { "WWW-Authenticate": "required" }])),
  environment_mismatch: { "WWW-Authenticate": "optional" },
  rate_limited: { "Retry-After": "required" },
  idempotency_key_in_use: { "Retry-After": "required" },
  service_unavailable: { "Retry-After": "required" },
  idempotency_unavailable: { "Retry-After": "required" },
  cost_exceeds_capacity: { "Retry-After": "absent" },
  insufficient_credits: { "Retry-After": "absent" },
};

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });
/** A header object of `HEADERS`, inline: a `$ref` may not carry `required` beside it. */
const header = (name: string, required = false) => ({ ...HEADERS[name], required });
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Every problem code an operation can answer, in catalogue order. */
function problemsOf(cap: Capability, idempotent: boolean, metered: boolean): ProblemCode[] {
  const codes = new Set<ProblemCode>([
    "malformed_authorization",
    "credential_location_not_allowed",
    "duplicate_credentials",
    "malformed_request", // the HTTP server's own refusals (framing, Host), on any request
    "headers_too_large",
    "missing_credentials",
    "unsupported_auth_scheme",
    "invalid_api_key",
    "api_key_revoked",
    "api_key_expired",
    "invalid_token",
    "token_expired",
    "environment_mismatch",
    "payload_too_large",
    "invalid_body", // a body that is not UTF-8, or that could not be read, on any method
    "rate_limited",
    "cost_exceeds_capacity",
    "service_unavailable",
    "internal_error",
  ]);
  if (cap.scopes.length > 0) codes.add("insufficient_scope"); // no scope needed: none can be missing
  if (cap.credits > 0 && metered) codes.add("insufficient_credits");
  if (idempotent) {
    for (const c of ["invalid_idempotency_key", "idempotency_key_in_use", "idempotency_key_reused", "idempotency_unavailable"] as const) codes.add(c);
    if (cap.requireIdempotencyKey) codes.add("idempotency_key_required");
  }
  if (BODY_METHODS.has(cap.method)) codes.add("unsupported_media_type");
  const declared = schemasOf(cap);
  if (cap.params.length > 0) codes.add("not_found"); // a path that does not decode, or no such resource
  if (declared.params || declared.query || cap.paginated) codes.add("invalid_parameter");
  if (cap.paginated) codes.add("invalid_cursor");
  if (declared.body) codes.add("validation_failed");
  for (const c of cap.problems) codes.add(c);
  return (Object.keys(catalogue) as ProblemCode[]).filter((c) => codes.has(c));
}

/** The declared schemas of a capability (none on a capability object made by hand without them). */
function schemasOf(cap: Capability): Capability["schemas"] {
  return (cap.schemas as Capability["schemas"] | undefined) ?? {};
}

/** Names `createOpenApiDocument` writes itself: a converted schema may not take them. */
const RESERVED = /^(?:Problem|FieldError|Problem_.*)$/;
/** The names converters give schemas that have no id of their own (zod: `__schema0`). */
const ANONYMOUS = /^__schema[0-9]*$/;

/**
 * Moves a converted schema's `$defs` into `components.schemas`, its `#/$defs/x` refs rewritten.
 * A definition without a name of its own (zod's `__schema0`) is named after `owner` (the
 * capability and the part: `things.create.body.schema0`), so two capabilities' never collide; a
 * named one (`.meta({ id })`) keeps its name, which may not be one of the document's own
 * (`Problem`, `FieldError`, `Problem_*`) nor name different content elsewhere. A schema that
 * refers to itself (`$ref: "#"`) moves to `components.schemas` under `owner`, and the refs follow it.
 */
function hoist(schema: JsonSchema, defs: Record<string, JsonSchema>, owner: string, where: string): JsonSchema {
  const { $defs, ...rest } = schema as { $defs?: Record<string, JsonSchema> };
  const names = new Map<string, string>();
  for (const name of Object.keys($defs ?? {})) {
    const named = ANONYMOUS.test(name) ? `${owner}.${name.replace(/^_+/, "") || "schema"}` : name;
    if (RESERVED.test(named)) throw new TypeError(`${where}: the schema name ${JSON.stringify(named)} is the document's own; give the schema another id`);
    if (!/^[A-Za-z0-9._-]+$/.test(named)) throw new TypeError(`${where}: the schema name ${JSON.stringify(named)} is not a component name (letters, digits, ".", "_", "-")`);
    names.set(name, named);
  }
  let recursive = false;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/$defs/")) {
        const target = x.slice(8);
        out[k] = `#/components/schemas/${names.get(target) ?? target}`;
      } else if (k === "$ref" && x === "#") {
        recursive = true;
        out[k] = `#/components/schemas/${owner}`;
      } else out[k] = rewrite(x);
    }
    return out;
  };
  const put = (name: string, value: JsonSchema) => {
    const had = defs[name];
    if (had !== undefined && JSON.stringify(had) !== JSON.stringify(value)) {
      throw new TypeError(`${where}: two different schemas are named ${JSON.stringify(name)}; give them different ids`);
    }
    defs[name] = value;
  };
  for (const [name, d] of Object.entries($defs ?? {})) put(names.get(name) as string, rewrite(d) as JsonSchema);
  const root = rewrite(rest) as JsonSchema;
  if (!recursive) return root;
  put(owner, root);
  return { $ref: `#/components/schemas/${owner}` };
}

/**
 * The OpenAPI 3.1 document of a set of capabilities: one operation per capability (its id the
 * `operationId`, its cost and credit price in `x-alloovium-cost` and `x-alloovium-credits`), the
 * API key (HTTP bearer) and OAuth 2 security schemes with each operation's scopes, its path,
 * query and body schemas as declared, `Idempotency-Key` where honoured (required where the
 * capability requires it), the pagination envelope where paginated, the declared success
 * responses and exactly the problems the operation can answer (`application/problem+json`, one
 * shared `Problem` schema and the extension members of each code), with `RateLimit` and
 * `RateLimit-Policy` on every 2xx and 4xx response.
 * @example
 * const document = createOpenApiDocument(capabilities, { title: "Acme API", version: "2.0.0" });
 * app.get("/api/v2/openapi.json", (req, res) => res.json(document));
 */
export function createOpenApiDocument(capabilities: Iterable<Capability>, options: OpenApiDocumentOptions): OpenApiDocument {
  if (!options || typeof options.title !== "string" || typeof options.version !== "string") {
    throw new TypeError("createOpenApiDocument: `title` and `version` are required strings");
  }
  const base = options.problemTypeBase ?? "https://api.alloovium.com/errors/";
  const fromPolicy = options.policy?.idempotencyMethods;
  const idempotencyMethods = new Set<string>(options.idempotencyMethods ?? fromPolicy ?? ["POST", "PATCH"]);
  if (fromPolicy && (fromPolicy.size !== idempotencyMethods.size || [...fromPolicy].some((m) => !idempotencyMethods.has(m)))) {
    throw new TypeError(`createOpenApiDocument: \`idempotencyMethods\` (${[...idempotencyMethods].join(", ")}) differ from the policy's (${[...fromPolicy].join(", ")})`);
  }
  const metered = options.policy === undefined || options.policy.credits !== undefined;
  const schemas: Record<string, JsonSchema> = {
    Problem: {
      type: "object",
      description: "RFC 9457 problem details. Clients branch on `code`.",
      properties: {
        type: { type: "string", format: "uri", maxLength: 300 },
        title: { type: "string", maxLength: 200 },
        status: { type: "integer", format: "int32", minimum: 400, maximum: 599 },
        detail: { type: "string", maxLength: 2000 },
        code: { type: "string", enum: Object.keys(catalogue) },
      },
      required: ["type", "title", "status", "detail", "code"],
    },
    FieldError: {
      type: "object",
      properties: { field: { type: "string", maxLength: MAX_FIELD_LENGTH }, message: { type: "string", maxLength: MAX_FIELD_MESSAGE_LENGTH } },
      required: ["field", "message"],
      additionalProperties: false,
    },
  };
  const usedCodes = new Set<ProblemCode>();
  const allScopes = new Set<string>();
  const tags = new Set<string>();
  const paths: Record<string, Record<string, unknown>> = {};
  const usedParameters = new Set<string>();
  const use = (name: string) => (usedParameters.add(name), name);

  for (const cap of capabilities) {
    const where = `createOpenApiDocument: capability "${cap.id}"`;
    const declaredSchemas = schemasOf(cap);
    const owner = cap.id.replace(/[^A-Za-z0-9._-]/g, "_");
    const honoured = idempotencyMethods.has(cap.method);
    const tag = cap.id.split(".")[0] as string;
    tags.add(tag);
    for (const s of cap.scopes) allScopes.add(s);

    const parameters: unknown[] = [];
    const paramSchema = declaredSchemas.params ? hoist(jsonSchemaOf(declaredSchemas.params, `${where}: params`), schemas, `${owner}.params`, `${where}: params`) : undefined;
    for (const name of cap.params) {
      const own = (paramSchema?.["properties"] as Record<string, JsonSchema> | undefined)?.[name];
      parameters.push({ name, in: "path", required: true, schema: own ?? { type: "string", maxLength: 200 } });
    }
    if (declaredSchemas.query) {
      const q = hoist(jsonSchemaOf(declaredSchemas.query, `${where}: query`), schemas, `${owner}.query`, `${where}: query`);
      const required = new Set((q["required"] as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries((q["properties"] as Record<string, JsonSchema> | undefined) ?? {})) {
        parameters.push({ name, in: "query", required: required.has(name), schema: s });
      }
    }
    if (cap.paginated) parameters.push(ref("parameters", use("Limit")), ref("parameters", use("Cursor")));
    if (honoured) parameters.push(ref("parameters", use(cap.requireIdempotencyKey ? "IdempotencyKeyRequired" : "IdempotencyKey")));

    const responses: Record<string, unknown> = {};
    const declared = Object.entries(cap.responses);
    if (declared.length === 0) declared.push(["200", { description: "Success." }]);
    for (const [status, r] of declared) {
      const headers: Record<string, unknown> = { RateLimit: header("RateLimit", true), "RateLimit-Policy": header("RateLimit-Policy", true) };
      if (honoured) headers["Idempotent-Replayed"] = header("Idempotent-Replayed");
      for (const [name, h] of Object.entries(r.headers ?? {})) headers[name] = { description: h.description, required: h.required ?? false, schema: h.schema ?? { type: "string", maxLength: 2000 } };
      let body = r.schema ? hoist(jsonSchemaOf(r.schema, `${where}: responses ${status}`), schemas, `${owner}.responses.${status}`, `${where}: responses ${status}`) : undefined;
      if (body && cap.paginated && status === "200") {
        body = {
          type: "object",
          properties: {
            data: { type: "array", items: body, maxItems: 100 },
            next_cursor: { type: ["string", "null"], maxLength: 2000, description: "Pass back as `cursor` for the next page; null on the last page." },
            has_more: { type: "boolean" },
          },
          required: ["data", "next_cursor", "has_more"],
          additionalProperties: false,
        };
      }
      responses[status] = { description: r.description, headers, ...(body ? { content: { "application/json": { schema: body } } } : {}) };
    }
    const byStatus = new Map<number, ProblemCode[]>();
    for (const code of problemsOf(cap, honoured, metered)) {
      usedCodes.add(code);
      const status = catalogue[code].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      const headers: Record<string, unknown> = {};
      if (status < 500) Object.assign(headers, { RateLimit: header("RateLimit"), "RateLimit-Policy": header("RateLimit-Policy") });
      for (const name of ["WWW-Authenticate", "Retry-After"]) {
        const requiring = codes.filter((c) => CODE_HEADERS[c]?.[name] === "required");
        const carrying = codes.filter((c) => CODE_HEADERS[c]?.[name] === "required" || CODE_HEADERS[c]?.[name] === "optional");
        if (carrying.length > 0) headers[name] = header(name, requiring.length === codes.length);
      }
      const refs = codes.map((c) => ref("schemas", `Problem_${c}`));
      responses[String(status)] = {
        description: codes.map((c) => `\`${c}\``).join(", "),
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        content: { "application/problem+json": { schema: refs.length === 1 ? refs[0] : { oneOf: refs } } },
      };
    }

    const security: Record<string, string[]>[] = [{ apiKey: [] }];
    if (options.oauth) security.push({ oauth2: [...cap.scopes] });
    const operation: Record<string, unknown> = {
      operationId: cap.id,
      summary: cap.description ?? cap.id,
      description: `${cap.description ?? cap.id}${cap.scopes.length > 0 ? ` Scopes: ${cap.scopes.join(", ")}.` : " No scope needed."} Costs ${cap.cost} rate-limit token${cap.cost === 1 ? "" : "s"} and ${cap.credits} credit${cap.credits === 1 ? "" : "s"}.`,
      tags: [tag],
      security,
      "x-alloovium-cost": cap.cost,
      "x-alloovium-credits": cap.credits,
      ...(cap.scopes.length > 0 ? { "x-alloovium-scopes": [...cap.scopes] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
    };
    if (declaredSchemas.body) {
      const body = hoist(jsonSchemaOf(declaredSchemas.body, `${where}: body`), schemas, `${owner}.body`, `${where}: body`);
      operation["requestBody"] = { required: !bodyOptionalOf(declaredSchemas), content: { "application/json": { schema: body } } };
    }
    operation["responses"] = responses;
    (paths[cap.path] ??= {})[cap.method.toLowerCase()] = operation;
  }

  for (const code of Object.keys(catalogue) as ProblemCode[]) {
    if (!usedCodes.has(code)) continue;
    const { status, title } = catalogue[code];
    const ext = EXTENSIONS[code];
    schemas[`Problem_${code}`] = {
      allOf: [ref("schemas", "Problem")],
      type: "object",
      properties: { type: { const: `${base}${code}` }, title: { const: title }, status: { const: status }, code: { const: code }, ...(ext?.properties ?? {}) },
      required: [...(ext?.required ?? [])],
      unevaluatedProperties: false,
      ...(CODE_HEADERS[code] ? { "x-alloovium-headers": { ...CODE_HEADERS[code] } } : {}),
    };
  }

  const securitySchemes: Record<string, unknown> = {
    apiKey: { type: "http", scheme: "bearer", bearerFormat: "API key (ak_live_… or ak_test_…)", description: "An API key as `Authorization: Bearer ak_live_…`; never in the query, a cookie or the body." },
  };
  if (options.oauth) {
    const described = options.oauth.scopes ?? {};
    const scopes: Record<string, string> = {};
    for (const s of [...allScopes].sort()) scopes[s] = described[s] ?? s;
    securitySchemes["oauth2"] = { type: "oauth2", description: "An OAuth 2 access token as a bearer token: a JWT (RFC 9068) verified as RFC8725 advises (algorithms pinned, `iss`, `aud`, `exp`, `nbf` and `typ` checked).", flows: { clientCredentials: { tokenUrl: options.oauth.tokenUrl, scopes } } };
  }
  const info: Record<string, unknown> = { title: options.title, version: options.version };
  if (options.description !== undefined) info["description"] = options.description;
  if (options.contact) info["contact"] = { ...options.contact };
  if (options.license) info["license"] = { ...options.license };
  const describedTags = options.tags ?? {};
  return {
    openapi: "3.1.0",
    info,
    ...(options.servers ? { servers: options.servers.map((s) => ({ ...s })) } : {}),
    tags: [...tags].map((name) => ({ name, description: describedTags[name] ?? `The ${name} capabilities.` })),
    paths,
    components: {
      securitySchemes,
      schemas,
      ...(usedParameters.size > 0 ? { parameters: Object.fromEntries(Object.entries(PARAMETERS).filter(([name]) => usedParameters.has(name))) } : {}),
    },
  };
}

/** Shared parameters, by component name (only those in use go into the document). */
const PARAMETERS: Record<string, JsonSchema> = {
  Limit: { name: "limit", in: "query", required: false, description: "Page size.", schema: { type: "integer", format: "int32", minimum: 1, maximum: 100, default: 10 } },
  Cursor: { name: "cursor", in: "query", required: false, description: "The `next_cursor` of the previous page.", schema: { type: "string", maxLength: 2000 } },
  IdempotencyKey: idempotencyKey(false),
  IdempotencyKeyRequired: idempotencyKey(true),
};

function idempotencyKey(required: boolean): JsonSchema {
  return {
    name: "Idempotency-Key",
    in: "header",
    required,
    description: "1 to 255 visible ASCII characters, bare or as an RFC 8941 string. The same key and body within 24 hours replays the first answer.",
    schema: { type: "string", minLength: 1, maxLength: 257, pattern: '^(?:[!-~]{1,255}|"[!-~]{1,255}")$' },
  };
}

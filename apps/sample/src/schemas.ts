/**
 * The sample's request and response schemas (zod 4), declared on its capabilities: the gate
 * validates requests with them and `createOpenApiDocument` documents both from them. Messages
 * are the contract's field messages (`is required`, `must be 1 to 200 characters`).
 */
import { z } from "zod";
import { DESCRIPTION_MAX, NAME_MAX, PROJECT_STATUSES, PROJECT_TYPES } from "./projects";

const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** "is required" when absent, `message` otherwise. */
const required = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? "is required" : message);

/** Length in characters (code points), as JSON Schema's `maxLength` counts. */
const chars = (v: string) => [...v].length;

/**
 * A JSON object with only the members of `shape`: "must be a JSON object" for anything else,
 * and each other member a field error of its own, in the body's order.
 */
function closed<S extends z.ZodRawShape>(shape: S, what: string) {
  return z
    .object(shape, { error: (issue) => (issue.code === "invalid_type" ? "must be a JSON object" : undefined) })
    .catchall(z.never({ error: `is not a writable field of ${what}` }).optional());
}

const projectName = z
  .string({ error: required("must be a string") })
  .refine((v) => v.trim().length > 0 && chars(v) <= NAME_MAX, `must be 1 to ${NAME_MAX} characters`)
  .meta({ minLength: 1, maxLength: NAME_MAX });
const projectDescription = z
  .string({ error: "must be a string or null" })
  .refine((v) => chars(v) <= DESCRIPTION_MAX, `must be at most ${DESCRIPTION_MAX} characters`)
  .meta({ maxLength: DESCRIPTION_MAX })
  .nullable();
const projectType = z.enum(PROJECT_TYPES, { error: required(`must be one of ${PROJECT_TYPES.join(", ")}`) });
const projectStatus = z.enum(PROJECT_STATUSES, { error: "must be active or archived" });

/** `POST /api/v2/vault/projects`: name and project_type required. */
export const ProjectCreate = closed(
  { name: projectName, description: projectDescription.optional(), project_type: projectType, status: projectStatus.optional() },
  "a project",
);

/** `PATCH /api/v2/vault/projects/{id}`: any writable field. */
export const ProjectPatch = closed(
  { name: projectName.optional(), description: projectDescription.optional(), project_type: projectType.optional(), status: projectStatus.optional() },
  "a project",
);

const timestamp = z.string().regex(ISO).meta({ format: "date-time", maxLength: 40 });
const uuid = z.string().meta({ format: "uuid", maxLength: 36 });

export const Project = z.strictObject({
  id: uuid,
  name: z.string().meta({ maxLength: NAME_MAX }),
  description: z.string().meta({ maxLength: DESCRIPTION_MAX }).nullable(),
  project_type: z.enum(PROJECT_TYPES),
  status: z.enum(PROJECT_STATUSES),
  created_at: timestamp,
});

const KEY_NAME = "must be a string of 1 to 200 characters, without control characters or lone surrogates";
const SCOPES = 'must be an array of scopes like "vault:read"';
const scopeList = z.array(z.string({ error: SCOPES }).meta({ maxLength: 100 }), { error: SCOPES }).max(100, SCOPES);

/** `POST /api/v2/keys`: no tier (a key takes its creator's). The key manager checks the rest (blank names, scope syntax, escalation). */
export const KeyCreate = closed(
  {
    name: z.string({ error: KEY_NAME }).meta({ minLength: 1, maxLength: 200 }),
    environment: z.enum(["live", "test"], { error: 'must be "live" or "test"' }),
    scopes: scopeList,
    expires_at: z.string({ error: "must be an RFC 3339 date-time in the future, like 2027-01-31T00:00:00Z" }).meta({ format: "date-time", maxLength: 40 }).nullable().optional(),
  },
  "a key",
);

/** `PATCH /api/v2/keys/{id}`: name and scopes only. */
export const KeyPatch = z
  .object({ name: z.string({ error: KEY_NAME }).meta({ minLength: 1, maxLength: 200 }).optional(), scopes: scopeList.optional() }, { error: (issue) => (issue.code === "invalid_type" ? "must be a JSON object" : undefined) })
  .catchall(z.never({ error: "cannot be changed" }).optional());

/** `POST /api/v2/keys/{id}/revoke`: no body, or `{}`. */
export const KeyRevoke = closed({}, "a revocation").optional();

/** `POST /api/v2/keys/{id}/roll`: an optional grace period (default 0: the old key ends at once). */
export const KeyRoll = closed(
  {
    grace_period_seconds: z
      .number({ error: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}` })
      .int(`must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`)
      .min(0, `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`)
      .max(MAX_GRACE_PERIOD_SECONDS, `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`)
      .meta({ format: "int32" })
      .optional(),
  },
  "a roll",
).optional();

const environment = z.enum(["live", "test"]);
const int64 = (min: number) => z.number().int().min(min).max(Number.MAX_SAFE_INTEGER).meta({ format: "int64" });
const tier = z.enum(["free", "standard", "pro", "enterprise"]);
const scopes = z.array(z.string().meta({ maxLength: 100 })).max(1000);
const id = z.string().meta({ maxLength: 200 });

export const KeyRecord = z.strictObject({
  id: uuid,
  name: z.string().meta({ maxLength: 200 }),
  prefix: z.string().meta({ maxLength: 12 }),
  environment,
  rate_limit_tier: tier,
  scopes,
  created_at: timestamp,
  last_used_at: timestamp.nullable(),
  expires_at: timestamp.nullable(),
  revoked_at: timestamp.nullable(),
  status: z.enum(["active", "expired", "revoked"]),
});

/** A created or rolled key: the record and the raw key, which a replay leaves out. */
export const CreatedKey = KeyRecord.extend({ key: z.string().meta({ maxLength: 46, description: "The raw key, shown once; absent from a replay." }).optional() });

export const Principal = z.union([
  z.strictObject({
    user_id: id,
    tenant_id: id,
    auth_method: z.literal("api_key"),
    email: z.string().meta({ maxLength: 320 }).nullable(),
    api_key_id: uuid,
    api_key_name: z.string().meta({ maxLength: 200 }),
    api_key_prefix: z.string().meta({ maxLength: 12 }),
    environment,
    rate_limit_tier: tier,
    scopes,
  }),
  z.strictObject({ user_id: id, tenant_id: id, auth_method: z.literal("oauth"), client_id: id, scopes }),
]);

export const CapabilityList = z.strictObject({
  data: z
    .array(
      z.strictObject({
        id: id,
        method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        path: z.string().meta({ maxLength: 200 }),
        scopes,
        cost: int64(0),
        idempotent: z.boolean(),
        allowed: z.boolean(),
      }),
    )
    .max(1000),
});

export const Usage = z.strictObject({
  balance: int64(Number.MIN_SAFE_INTEGER),
  data: z
    .array(z.strictObject({ hour: timestamp, capability: id, calls: int64(0), credits: int64(0) }))
    .max(100_000),
});

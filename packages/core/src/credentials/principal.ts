import type { Environment } from "../keys";

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Whether a string is well-formed UTF-16 (no lone surrogate), as `String#isWellFormed`: a lone
 * surrogate has no UTF-8 form, so a store that writes UTF-8 (Redis, PostgreSQL) would turn two
 * different strings into one (both U+FFFD).
 * @example isWellFormedText("caf\u00e9") // true; isWellFormedText("x\ud800") // false
 */
export function isWellFormedText(v: string): boolean {
  return !LONE_SURROGATE.test(v);
}

/** The longest tenant, user or client id a principal may carry. */
export const MAX_PRINCIPAL_ID_LENGTH = 255;

/**
 * Whether `v` can name a tenant, user or client in every store key: a string of 1 to 255
 * characters, well-formed UTF-16, no control character. Ids from outside (an OAuth token's
 * claims) are checked with it, so that two ids never share a store key.
 * @example isPrincipalId("c7a1e9c2-9c1e-4e4e-bf97-a4b5e76cf9c8") // true
 */
export function isPrincipalId(v: unknown): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_PRINCIPAL_ID_LENGTH && !CONTROL.test(v) && isWellFormedText(v);
}

/** The four rate-limit tiers. */
export type RateLimitTier = "free" | "standard" | "pro" | "enterprise";
export const RATE_LIMIT_TIERS: readonly RateLimitTier[] = ["free", "standard", "pro", "enterprise"];

/** The principal behind an API key, exactly as `GET /api/v2/me` returns it. */
export interface ApiKeyPrincipal {
  readonly user_id: string;
  readonly tenant_id: string;
  readonly auth_method: "api_key";
  readonly email: string | null;
  readonly api_key_id: string;
  readonly api_key_name: string;
  readonly api_key_prefix: string;
  readonly environment: Environment;
  readonly rate_limit_tier: RateLimitTier;
  /** Sorted. */
  readonly scopes: readonly string[];
}

/** The principal behind an OAuth access token, exactly as `GET /api/v2/me` returns it. */
export interface OAuthPrincipal {
  readonly user_id: string;
  readonly tenant_id: string;
  readonly auth_method: "oauth";
  readonly client_id: string;
  /** Sorted. */
  readonly scopes: readonly string[];
}

/** Who is calling. */
export type Principal = ApiKeyPrincipal | OAuthPrincipal;

import type { Environment } from "../keys";

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

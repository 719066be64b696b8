import { bearerChallenge } from "../problems/challenge";
import { policyError, type PolicyError } from "../problems";

/** `resource:action`, lower-case: `vault:read`. */
export const SCOPE_PATTERN = /^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$/;

/**
 * True when `s` is a well-formed scope (`resource:action`, lower-case).
 * @example isScope("vault:read") // true; isScope("Vault:Read") // false
 */
export function isScope(s: unknown): s is string {
  return typeof s === "string" && SCOPE_PATTERN.test(s);
}

/**
 * Scopes sorted, without duplicates or malformed entries.
 * @example normalizeScopes(["vault:write", "vault:read", "vault:read", "bad"]) // ["vault:read", "vault:write"]
 */
export function normalizeScopes(scopes: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const s of scopes) if (isScope(s)) set.add(s);
  return [...set].sort();
}

/** The scopes of `required` that `held` lacks, sorted. */
export function missingScopes(held: readonly string[], required: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of required) if (!held.includes(r)) out.push(r);
  return out.length > 1 ? out.sort() : out;
}

/**
 * The 403 `insufficient_scope` problem, with the seeds' detail, sorted `missing_scopes` and the
 * RFC 6750 challenge naming every required scope.
 * @example insufficientScope("api_key", ["vault:write"], ["vault:write"])
 */
export function insufficientScope(
  authMethod: "api_key" | "oauth",
  required: readonly string[],
  missing: readonly string[],
): PolicyError {
  const who = authMethod === "api_key" ? "API key" : "OAuth token";
  const sorted = [...missing].sort();
  const detail =
    sorted.length === 1
      ? `${who} is missing required scope: ${sorted[0]}`
      : `${who} is missing required scopes: ${sorted.join(", ")}`;
  return policyError(
    "insufficient_scope",
    detail,
    { missing_scopes: sorted },
    { "www-authenticate": bearerChallenge("insufficient_scope", [...required].sort().join(" ")) },
  );
}

/**
 * The scope check: null when `held` has every scope `required` names, else 403 `insufficient_scope`.
 * @example checkScopes("api_key", ["vault:read"], ["vault:read", "vault:write"]) // insufficient_scope, missing vault:write
 */
export function checkScopes(authMethod: "api_key" | "oauth", held: readonly string[], required: readonly string[]): PolicyError | null {
  if (required.length === 0) return null;
  const missing = missingScopes(held, required);
  return missing.length === 0 ? null : insufficientScope(authMethod, required, missing);
}

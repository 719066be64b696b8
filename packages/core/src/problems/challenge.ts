/** The realm of every `WWW-Authenticate: Bearer` challenge. */
export const REALM = "alloovium";

/**
 * A `WWW-Authenticate` value (RFC 6750 section 3): no `error` attribute when no credential was
 * sent or the refusal is not about the token; `scope` names what an `insufficient_scope` needs.
 * @example bearerChallenge("insufficient_scope", "vault:write") // 'Bearer realm="alloovium", error="insufficient_scope", scope="vault:write"'
 */
export function bearerChallenge(error?: "invalid_request" | "invalid_token" | "insufficient_scope", scope?: string): string {
  let v = `Bearer realm="${REALM}"`;
  if (error) v += `, error="${error}"`;
  if (scope !== undefined) v += `, scope="${scope}"`;
  return v;
}

/** The challenge header of a credential sent in the wrong form (400). */
export const INVALID_REQUEST_CHALLENGE: Readonly<Record<string, string>> = Object.freeze({ "www-authenticate": bearerChallenge("invalid_request") });

/** The challenge header of a 401 for a credential that is not valid (unknown, revoked, expired). */
export const INVALID_TOKEN_CHALLENGE: Readonly<Record<string, string>> = Object.freeze({ "www-authenticate": bearerChallenge("invalid_token") });

/** The bare challenge: no credential was sent, or a 403 that is not about scopes (RFC 6750 3.1). */
export const BARE_CHALLENGE: Readonly<Record<string, string>> = Object.freeze({ "www-authenticate": bearerChallenge() });

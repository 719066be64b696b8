import { readFileSync } from "node:fs";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { systemClock, type Clock } from "../clock";
import { policyError, type PolicyError } from "../problems";
import { normalizeScopes } from "../scopes";
import { isPrincipalId, isWellFormedText, type OAuthPrincipal } from "./principal";
import { INVALID_TOKEN_CHALLENGE } from "../problems/challenge";

/** Where the verification keys come from. */
export type JwksSource = JSONWebKeySet | URL | { readonly file: string };

/** Options of `createOAuthVerifier`. */
export interface OAuthVerifierOptions {
  /** The JWKS: an object, `{ file: path }` (read once, now), or a URL (fetched and cached by jose). */
  readonly jwks: JwksSource;
  /** Exact `iss`. */
  readonly issuer: string;
  /** Exact `aud` (the token's `aud` must contain it). @default "https://api.alloovium.com" */
  readonly audience?: string;
  /**
   * The accepted `alg` values; nothing else is ever accepted (no `none`, no HMAC unless listed).
   * @default ["RS256", "ES256", "EdDSA"]
   */
  readonly algorithms?: readonly string[];
  /** Tolerance on `exp` and `nbf`, in seconds. @default 5 */
  readonly clockToleranceSeconds?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** For a URL source: how long the fetched set is kept, in ms. @default 600000 */
  readonly jwksCacheMaxAgeMs?: number;
}

/** Verifies RFC 9068 access tokens into an `OAuthPrincipal`. */
export interface OAuthVerifier {
  verify(token: string): Promise<OAuthPrincipal | PolicyError>;
}

const SYMMETRIC = /^HS\d+$/;

function invalid(detail: string): PolicyError {
  return policyError("invalid_token", detail, undefined, INVALID_TOKEN_CHALLENGE);
}

/**
 * Verifies OAuth 2 access tokens (JWTs) against a JWKS: the algorithms pinned to the keys' own, `iss`, `aud`, `exp`/`nbf` with a small leeway, and the ids a principal needs.
 * @example
 * const oauth = createOAuthVerifier({ jwks: { file: "jwks.json" }, issuer: "https://auth.example.com" });
 * const result = await oauth.verify(token);
 */
export function createOAuthVerifier(options: OAuthVerifierOptions): OAuthVerifier {
  if (!options || typeof options.issuer !== "string" || options.issuer === "") {
    throw new TypeError("createOAuthVerifier: `issuer` must be a non-empty string");
  }
  const audience = options.audience ?? "https://api.alloovium.com";
  if (typeof audience !== "string" || audience === "") {
    throw new TypeError("createOAuthVerifier: `audience` must be a non-empty string");
  }
  const algorithms = [...(options.algorithms ?? ["RS256", "ES256", "EdDSA"])];
  if (algorithms.length === 0 || algorithms.some((a) => typeof a !== "string" || a === "none" || a === "")) {
    throw new TypeError('createOAuthVerifier: `algorithms` must list at least one algorithm, never "none"');
  }
  if (algorithms.some((a) => SYMMETRIC.test(a))) {
    throw new TypeError("createOAuthVerifier: `algorithms` must be asymmetric (a JWKS of public keys cannot verify HMAC)");
  }
  const tolerance = options.clockToleranceSeconds ?? 5;
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > 300) {
    throw new TypeError("createOAuthVerifier: `clockToleranceSeconds` must be between 0 and 300");
  }
  const clock = options.clock ?? systemClock;
  const source = options.jwks;
  let keys: JWTVerifyGetKey;
  if (source instanceof URL) {
    keys = unavailableOnFetchFailure(createRemoteJWKSet(source, { cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000 }));
  } else if (source && typeof (source as { file?: unknown }).file === "string") {
    const file = (source as { file: string }).file;
    let parsed: JSONWebKeySet;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8")) as JSONWebKeySet;
    } catch (e) {
      throw new TypeError(`createOAuthVerifier: \`jwks.file\` could not be read as JSON (${(e as Error).message})`);
    }
    keys = local(parsed);
  } else {
    keys = local(source as JSONWebKeySet);
  }

  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        const result = await jwtVerify(token, keys, {
          issuer: options.issuer,
          audience,
          algorithms,
          typ: "at+jwt",
          clockTolerance: tolerance,
          currentDate: new Date(clock.now()),
          requiredClaims: ["exp", "sub"],
        });
        payload = result.payload as Record<string, unknown>;
      } catch (e) {
        if (e instanceof JwksUnavailableError) {
          // The token may well be valid: the client should retry it, not discard it (not a 401).
          return policyError("service_unavailable", "The signing keys of access tokens cannot be fetched right now; retry shortly.", undefined, { "retry-after": "1" });
        }
        if (e instanceof joseErrors.JWTExpired) {
          return policyError("token_expired", "The access token has expired.", undefined, INVALID_TOKEN_CHALLENGE);
        }
        if (e instanceof joseErrors.JWTClaimValidationFailed) return invalid(`The access token's "${e.claim}" claim is not acceptable.`);
        if (e instanceof joseErrors.JOSEAlgNotAllowed) return invalid("The access token's algorithm is not accepted.");
        if (e instanceof joseErrors.JWKSNoMatchingKey) return invalid("No known key matches the access token.");
        return invalid("The access token could not be verified.");
      }
      const { sub, tenant_id, client_id, scope } = payload;
      // Each id names stores' keys: 1 to 255 characters, well-formed, no control character.
      if (!isPrincipalId(sub)) return invalid('The access token has no usable "sub".');
      if (!isPrincipalId(tenant_id)) return invalid('The access token has no usable "tenant_id".');
      if (!isPrincipalId(client_id)) return invalid('The access token has no usable "client_id".');
      if (scope !== undefined && (typeof scope !== "string" || !isWellFormedText(scope))) return invalid('The access token\'s "scope" must be a string.');
      return {
        user_id: sub,
        tenant_id,
        auth_method: "oauth",
        client_id,
        scopes: normalizeScopes(scope ? scope.split(" ") : []),
      };
    },
  };
}

/** The JWKS URL could not be read (network, timeout, non-200, not a JWKS). */
class JwksUnavailableError extends Error {
  override readonly name = "JwksUnavailableError";
}

/**
 * An unreachable JWKS URL is an outage, not a bad token: a failure to fetch the set becomes a
 * `JwksUnavailableError` (503 `service_unavailable`); a set that has no key for the token stays
 * `invalid_token`.
 */
function unavailableOnFetchFailure(remote: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      const fetchFailed =
        e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid || code === "ERR_JOSE_GENERIC" || (e instanceof TypeError && !(e instanceof joseErrors.JOSEError));
      if (fetchFailed) throw new JwksUnavailableError("the JWKS could not be fetched", { cause: e });
      throw e;
    }
  };
}

function local(set: JSONWebKeySet): JWTVerifyGetKey {
  if (!set || !Array.isArray(set.keys)) throw new TypeError("createOAuthVerifier: `jwks` must be a JWKS object ({ keys: [...] })");
  if (set.keys.some((k) => k.kty === "oct")) throw new TypeError("createOAuthVerifier: `jwks` must not contain symmetric (oct) keys");
  return createLocalJWKSet(set);
}

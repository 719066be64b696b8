import type { Clock } from "../clock";
import { checkApiKey, type Environment } from "../keys";
import { INVALID_TOKEN_CHALLENGE } from "../problems/challenge";
import { serviceUnavailable } from "../problems/common";
import { isPolicyError, policyError, type PolicyError } from "../problems/problem";
import type { PolicyRequest } from "../pipeline/request";
import type { KeyStore, ApiKeyRecord } from "./key-store";
import type { VerifiedKeyCache } from "./key-cache";
import type { OAuthVerifier } from "./oauth";
import type { ApiKeyPrincipal, Principal } from "./principal";
import { checkCredentialLocation, readBearer, type TransportOptions } from "./transport";

/** What authentication needs: the key cache and store, the OAuth verifier, and the `last_used_at` throttle. */
export interface AuthenticatorOptions {
  readonly keyCache: VerifiedKeyCache;
  readonly keyStore: KeyStore;
  readonly oauth: OAuthVerifier | undefined;
  readonly transport: TransportOptions | undefined;
  /** How often `last_used_at` is written per key and process, at most; 0 never. */
  readonly lastUsedMs: number;
  readonly clock: Clock;
  readonly onStoreError: (error: unknown, operation: "lookup" | "touch") => void;
}

/** The principal, a problem, or a promise of either (only when a store must be asked). */
export type Authenticate = (request: PolicyRequest) => Principal | PolicyError | Promise<Principal | PolicyError>;

const MALFORMED_KEY = policyError("invalid_api_key", "The API key is malformed or its checksum does not match.", undefined, INVALID_TOKEN_CHALLENGE);
const UNKNOWN_KEY = policyError("invalid_api_key", "The API key is not valid.", undefined, INVALID_TOKEN_CHALLENGE);
const REVOKED_KEY = policyError("api_key_revoked", "The API key has been revoked.", undefined, INVALID_TOKEN_CHALLENGE);
const EXPIRED_KEY = policyError("api_key_expired", "The API key has expired.", undefined, INVALID_TOKEN_CHALLENGE);
const NO_OAUTH = policyError("invalid_token", "OAuth access tokens are not accepted here.", undefined, INVALID_TOKEN_CHALLENGE);
const UNKNOWN_CREDENTIAL = policyError("invalid_token", "The credential is neither an API key nor an OAuth access token.", undefined, INVALID_TOKEN_CHALLENGE);

const LIVE_PREFIX = "ak_live_";

/** A verified key's principal, and when its `last_used_at` may be written again. */
interface KeyEntry {
  readonly principal: ApiKeyPrincipal;
  touchAfter: number;
}

/** The principal of a key record, frozen: what handlers see as the caller. */
function principalOf(record: ApiKeyRecord): ApiKeyPrincipal {
  return Object.freeze({
    user_id: record.user_id,
    tenant_id: record.tenant_id,
    auth_method: "api_key",
    email: record.email,
    api_key_id: record.id,
    api_key_name: record.name,
    api_key_prefix: record.prefix,
    environment: record.environment,
    rate_limit_tier: record.rate_limit_tier,
    scopes: record.scopes,
  } as const);
}

/**
 * The pipeline's first steps: the credential's location (nowhere but the Authorization header),
 * the Authorization header's form, then the credential itself — an API key (its checksum, then
 * the verified-key cache or the key store: unknown, revoked, expired) or an OAuth access token.
 * A verified key's `last_used_at` is written at most once per `lastUsedMs` per key and process,
 * never awaited. Only a store lookup makes the answer a promise.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const { keyCache, oauth, transport, clock, lastUsedMs, onStoreError } = options;
  const touchKey = lastUsedMs > 0 && typeof options.keyStore.touch === "function" ? options.keyStore.touch.bind(options.keyStore) : undefined;
  // Per record object (the cache hands out the same frozen record until it reloads it): no
  // principal is rebuilt on the hot path.
  const entries = new WeakMap<ApiKeyRecord, KeyEntry>();
  const touchedAt = new Map<string, number>();

  function touch(entry: KeyEntry): void {
    const now = clock.now();
    if (now < entry.touchAfter) return;
    const id = entry.principal.api_key_id;
    const last = touchedAt.get(id);
    if (last !== undefined && now - last < lastUsedMs) {
      entry.touchAfter = last + lastUsedMs;
      return;
    }
    if (touchedAt.size >= 10_000) {
      for (const [k, at] of touchedAt) if (now - at >= lastUsedMs) touchedAt.delete(k);
      // Still full (over 10,000 keys touched within the interval): forget them all rather than
      // scan again on every new key; at worst each is touched once more this interval.
      if (touchedAt.size >= 10_000) touchedAt.clear();
    }
    touchedAt.set(id, now);
    entry.touchAfter = now + lastUsedMs;
    try {
      touchKey!(entry.principal.tenant_id, id, new Date(now).toISOString()).catch((e: unknown) => onStoreError(e, "touch"));
    } catch (e) {
      onStoreError(e, "touch"); // a store that throws at once must not fail the request either
    }
  }

  function keyPrincipal(record: ApiKeyRecord | null, env: Environment): Principal | PolicyError {
    if (!record || record.environment !== env) return UNKNOWN_KEY;
    if (record.revoked_at !== null) return REVOKED_KEY;
    if (record.expires_at !== null && Date.parse(record.expires_at) <= clock.now()) return EXPIRED_KEY;
    let entry = entries.get(record);
    if (!entry) entries.set(record, (entry = { principal: principalOf(record), touchAfter: -Infinity }));
    if (touchKey) touch(entry);
    return entry.principal;
  }

  const unavailable = (e: unknown): PolicyError => {
    onStoreError(e, "lookup");
    return serviceUnavailable("API keys cannot be verified right now; retry shortly.");
  };

  return (req) => {
    const located = checkCredentialLocation(req, transport);
    if (located) return located;
    const bearer = readBearer(req);
    if (isPolicyError(bearer)) return bearer;
    if (bearer.kind === "api_key") {
      const raw = bearer.token;
      // A verified record in the cache was looked up with this very key (by its SHA-256) after
      // its format and checksum passed: only a miss, or a cached "no such key", checks them now.
      const cached = keyCache.peek(raw);
      if (cached) return keyPrincipal(cached, raw.startsWith(LIVE_PREFIX) ? "live" : "test");
      const env = checkApiKey(raw);
      if (env !== "live" && env !== "test") return MALFORMED_KEY;
      if (cached === null) return UNKNOWN_KEY;
      return keyCache.lookup(raw).then((record) => keyPrincipal(record, env), unavailable);
    }
    if (bearer.kind === "jwt") return oauth ? oauth.verify(bearer.token) : NO_OAUTH;
    return UNKNOWN_CREDENTIAL;
  };
}

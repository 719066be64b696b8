/**
 * `@alloovium/core`: what a service author uses to run an Alloovium-compatible API. Store
 * authors' building blocks are in `@alloovium/core/store-kit`; policy tests use
 * `@alloovium/core/testing`; store and adapter suites `@alloovium/core/conformance`.
 * The README's API section lists exactly these names.
 */

// The pipeline
export { createPolicy, type Policy } from "./pipeline/pipeline";
export type { PolicyOptions, PolicyStores, ResolvedStores, StoreOperation, TenantBucketOption } from "./pipeline/options";
export type { ContinueDecision, Decision, HandlerResponse, RejectDecision, ReplayDecision, Settlement, WireResponse } from "./pipeline/decision";
export type { PolicyRequest } from "./pipeline/request";
export type { DecisionEvent, EventCredential, FailOpenStore, SettleEvent } from "./pipeline/events";
export type { Admission } from "./pipeline/admission";

// Capabilities and scopes
export {
  defineCapabilities,
  defineCapability,
  type Capability,
  type CapabilityInput,
  type CapabilityListing,
  type CapabilityMatch,
  type CapabilitySet,
  type DocumentedSchema,
  type HttpMethod,
  type JsonSchema,
  type ResponseDeclaration,
  type Schema,
  type SchemaOutput,
} from "./capabilities";
export { checkScopes, isScope, normalizeScopes } from "./scopes";

// Keys and credentials
export { createKeyHasher, type KeyHasher, type KeyHasherOptions } from "./keys/digest";
export { apiKeyPrefix, generateApiKey, parseApiKey, type Environment, type ParsedApiKey } from "./keys/api-key";
export { MemoryKeyStore, type ApiKeyRecord, type KeyStore } from "./credentials/key-store";
export { createVerifiedKeyCache, type VerifiedKeyCache, type VerifiedKeyCacheOptions } from "./credentials/key-cache";
export { createOAuthVerifier, type JwksSource, type OAuthVerifier, type OAuthVerifierOptions } from "./credentials/oauth";
export { RATE_LIMIT_TIERS, isWellFormedText, type ApiKeyPrincipal, type OAuthPrincipal, type Principal, type RateLimitTier } from "./credentials/principal";
export type { TransportOptions } from "./credentials/transport";

// Buckets, idempotency, credits
export { DEFAULT_TIER_LIMITS } from "./buckets/tiers";
export { MemoryBucketStore, type MemoryBucketStoreOptions } from "./buckets/memory";
export type { BucketLimits, BucketStore } from "./buckets/store";
export { MemoryIdempotencyStore, type MemoryIdempotencyStoreOptions } from "./idempotency/memory";
export type { IdempotencyStore } from "./idempotency/store";
export { DEFAULT_REPLAY_HEADERS } from "./idempotency/replay";
export { DEFAULT_CREDIT_GRANT, type CreditStore } from "./credits/store";
export { MemoryCreditStore } from "./credits/memory";
export { readUsage, type ReadUsageOptions, type UsageReport } from "./credits/usage";

// Key lifecycle and pagination
export { createKeyManager, type CreatedKey, type KeyManager, type KeyManagerOptions, type KeyManagerPolicy, type KeyView } from "./management/keys";
export { paginate, parsePageQuery, type Page } from "./pagination";

// Problems
export { ProblemError, isPolicyError, policyError, validationFailed, valueOrThrow, type FieldError, type PolicyError, type Problem } from "./problems/problem";
export { isProblemError } from "./problems/common";
export { catalogue, type ProblemCode } from "./problems/catalogue";

// The HTTP edge, for adapters
export {
  createHttpGate,
  incomingFromFetch,
  incomingFromNode,
  NULL_BODY_STATUSES,
  type FetchRequestLike,
  type GateResult,
  type HttpGate,
  type HttpGateOptions,
  type IncomingRequest,
  type NodeRequestAt,
  type NodeRequestLike,
  type PolicyContext,
  type ScreenResult,
} from "./http/gate";
export { settleNodeResponse, type NodeResponseLike } from "./http/node-response";
export { answerClientErrors, type ClientErrorOptions } from "./http/client-errors";
export { flattenHeaders } from "./http/headers";
export { readJsonObject, type ReadJsonObjectOptions } from "./http/json-body";
export { inputOf, type InputOf, type RawParams, type RawQuery, type RequestInput } from "./http/input";

// The OpenAPI document
export { createOpenApiDocument, type OpenApiDocument, type OpenApiDocumentOptions } from "./openapi";

export type { Clock } from "./clock";

// Logs
export { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_PARAMETERS, pinoRedaction, pinoScrubbing, redactCredentials, scrubCredentials, type PinoRedactionOptions } from "./logging/redaction";

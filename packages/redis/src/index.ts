/**
 * Redis stores for `@alloovium/core` on the caller's ioredis client: token buckets, idempotency
 * records, API keys, and one-round-trip admission; standalone or Cluster.
 */
export { createRedisStores, watchKeyInvalidations, type RedisStores, type RedisStoresOptions } from "./stores";
export { RedisBucketStore, type RedisBucketStoreOptions } from "./buckets";
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from "./idempotency";
export { RedisAdmission } from "./admission";
export { RedisKeyStore, type RedisKeyStoreOptions } from "./key-store";
export { KeyLayout } from "./keys";
export { RedisStoreLateError, RedisStoreTimeoutError, RedisStoreUnavailableError, type RedisClient } from "./connection";
export type { FailureMode, RedisStoreBaseOptions } from "./options";
export { ADMIT_SCRIPT, BUCKET_SCRIPT, CLAIM_SCRIPT, COMPLETE_SCRIPT, RELEASE_SCRIPT, type LuaScript } from "./scripts";

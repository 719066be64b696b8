/**
 * Redis stores for `@alloovium/core` on the caller's ioredis client: token buckets, idempotency
 * records, API keys, credit balances and usage, and one-round-trip admission; standalone or Cluster.
 */
export { createRedisStores, watchKeyInvalidations, type RedisStores, type RedisStoresOptions } from "./stores";
export { connectRedisStores, type ConnectedRedisStores, type ConnectRedisStoresOptions } from "./connect";
export { RedisBucketStore, type RedisBucketStoreOptions } from "./buckets";
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from "./idempotency";
export { RedisAdmission } from "./admission";
export { RedisCreditStore, type RedisCreditStoreOptions } from "./credits";
export { LedgerFlusher, type LedgerFlushOptions } from "./ledger";
export { RedisKeyStore, type RedisKeyStoreOptions } from "./key-store";
export { RedisStoreLateError, RedisStoreTimeoutError, RedisStoreUnavailableError, type RedisClient } from "./connection";
export type { FailureMode, RedisStoreBaseOptions } from "./options";

export { migrate, migrations, type MigrateOptions, type MigrateResult, type Migration } from "./migrate";
export { PostgresKeyStore, type PostgresKeyStoreOptions } from "./key-store";
export { PostgresCreditStore, PostgresLedger, type PostgresCreditStoreOptions } from "./credits";
export { PostgresBucketStore, type PostgresBucketStoreOptions } from "./buckets";
export { PostgresIdempotencyStore, type PostgresIdempotencyStoreOptions } from "./idempotency";
export { PostgresAdmission, type AdmissionFailure, type FailureMode } from "./admission";
export {
  connectPostgresStores,
  createPostgresStores,
  watchKeyInvalidations,
  type ConnectedPostgresStores,
  type ConnectPostgresStoresOptions,
  type PostgresStores,
  type PostgresStoresOptions,
} from "./stores";
export type { PgClient, PgPool, PgPoolClient, PgQueryable, PostgresStoreOptions } from "./pg";

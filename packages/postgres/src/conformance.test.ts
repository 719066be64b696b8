import { bucketStoreConformance, creditStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "@alloovium/core/conformance";
import { sleep } from "../test/pg-server";
import { useSchema } from "../test/helpers";
import { PostgresBucketStore } from "./buckets";
import { PostgresCreditStore } from "./credits";
import { PostgresIdempotencyStore } from "./idempotency";
import { PostgresKeyStore } from "./key-store";

// The database's clock is real: `advance` waits.
const use = useSchema("conformance");

bucketStoreConformance("PostgresBucketStore", () => ({ store: new PostgresBucketStore(use()), advance: sleep }));

idempotencyStoreConformance("PostgresIdempotencyStore", () => ({ store: new PostgresIdempotencyStore(use()), advance: sleep }));

keyStoreConformance("PostgresKeyStore", () => ({ store: new PostgresKeyStore(use()) }));

creditStoreConformance("PostgresCreditStore", () => ({
  store: new PostgresCreditStore(use()),
  now: async () => Number((await use().pool.query("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms")).rows[0].ms),
}));

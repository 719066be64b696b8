import { describe } from "vitest";
import { FRAMEWORKS, redisPostgresVariant } from "./support/app";
import { contractSuite } from "./support/contract";

// The same contract on Redis in front of PostgreSQL (DATABASE_URL with REDIS_URL): key records
// and the credit ledger in PostgreSQL (a schema per server), buckets, idempotency and the hot
// balances in Redis (a key prefix per server), charges flushed to the ledger in the background.
// One framework is enough here: the cross-framework suite shows the bindings agree.
describe("v2 contract on Redis in front of PostgreSQL", () => {
  describe.each(FRAMEWORKS.slice(0, 1))("%s", (framework) => {
    contractSuite(framework, redisPostgresVariant());
  });
});

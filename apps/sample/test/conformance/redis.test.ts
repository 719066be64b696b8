import { describe } from "vitest";
import { FRAMEWORKS, redisVariant } from "./support/app";
import { contractSuite } from "./support/contract";

// The same contract on Redis stores (buckets, idempotency, keys, key-cache invalidation): the
// Redis at REDIS_URL (or one the global setup starts), or CONFORMANCE_REDIS_URL when set. Each
// server writes under its own random key prefix and deletes its keys when it closes.
describe("v2 contract on Redis stores", () => {
  describe.each(FRAMEWORKS)("%s", (framework) => {
    contractSuite(framework, redisVariant());
  });
});

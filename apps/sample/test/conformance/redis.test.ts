import { describe, it } from "vitest";
import { FRAMEWORKS, redisVariant } from "./support/app";
import { contractSuite } from "./support/contract";

// The same contract on Redis stores (buckets, idempotency, keys). Set CONFORMANCE_REDIS_URL,
// e.g. redis://127.0.0.1:6379, to run it; each server writes under its own random key prefix.
const redis = redisVariant();

describe.skipIf(!redis)("v2 contract on Redis stores", () => {
  if (!redis) {
    it("runs when CONFORMANCE_REDIS_URL is set", () => {});
    return;
  }
  describe.each(FRAMEWORKS)("%s", (framework) => {
    contractSuite(framework, redis);
  });
});

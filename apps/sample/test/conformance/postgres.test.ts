import { describe } from "vitest";
import { FRAMEWORKS, postgresVariant } from "./support/app";
import { contractSuite } from "./support/contract";

// The same contract with every store in PostgreSQL (keys, credits, buckets, idempotency, the
// LISTEN feed): DATABASE_URL, else 127.0.0.1:5432, else a throwaway server of the PostgreSQL
// package's global setup. Each server migrates a schema of its own and drops it when it closes.
// One framework is enough here: the cross-framework suite shows the bindings agree.
describe("v2 contract on PostgreSQL stores", () => {
  describe.each(FRAMEWORKS.slice(0, 1))("%s", (framework) => {
    contractSuite(framework, postgresVariant());
  });
});

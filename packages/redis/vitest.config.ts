import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@alloovium/redis",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    // Files start their own redis-servers, a 3-node Cluster and child processes: on a 2-core
    // machine they run one after another so that none starves another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@alloovium/postgres",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    // Files start child processes and PostgreSQL servers of their own: on a 2-core machine they
    // run one after another so that none starves another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@alloovium/sample-app",
    include: ["test/**/*.test.ts"],
    // The Redis variant of the contract suite uses the Redis package's setup: REDIS_URL
    // (default redis://127.0.0.1:6379), else a redis-server it starts; never a silent skip.
    globalSetup: ["../../packages/redis/test/global-setup.ts", "../../packages/postgres/test/global-setup.ts"],
    // Every file starts three servers (one per framework) and hammers them over real sockets:
    // on a 2-core machine, files run one after another so that no test starves another.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

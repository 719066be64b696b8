import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@alloovium/sample-app",
    include: ["test/**/*.test.ts"],
    // Every file starts three servers (one per framework) and hammers them over real sockets:
    // on a 2-core machine, files run one after another so that no test starves another.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "packaging",
    include: ["*.test.ts"],
    // One build, pack and npm install for the whole file (beforeAll); the cases then only read
    // what it found. npm may have to reach the registry the first time on a machine.
    hookTimeout: 600_000,
    testTimeout: 30_000,
  },
});

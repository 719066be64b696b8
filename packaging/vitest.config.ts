import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "packaging",
    include: ["*.test.ts"],
    // One build, pack and npm install for the whole file (beforeAll); the cases then only read
    // what it found. npm may have to reach the registry the first time on a machine.
    hookTimeout: 600_000,
    testTimeout: 30_000,
    // After every other project: its build, npm install and tsc would take the CPU from the
    // suites that run real servers side by side on a 2-core machine.
    sequence: { groupOrder: 1 },
  },
});

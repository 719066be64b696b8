import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// @alloovium/nestjs's sources and its suite import @nestjs/*: here they resolve to this
// project's Nest 12, not to the Nest 11 the package is developed on.
const nest12 = (name: string) => fileURLToPath(new URL(`./node_modules/@nestjs/${name}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: Object.fromEntries(["common", "core", "platform-express", "platform-fastify"].map((name) => [`@nestjs/${name}`, nest12(name)])),
  },
  test: { name: "@alloovium/nest12-check", include: ["test/**/*.test.ts"] },
});

import { defineConfig } from "tsup";

// ESM for every entry point; CJS for all but `conformance`, which imports vitest (vitest refuses
// to be required) and so is ESM-only, with no `require` condition in publishConfig.exports.
// One build, so that the ESM entry points share their chunks.
export default defineConfig({
  entry: {
    index: "src/index.ts",
    "testing/index": "src/testing/index.ts",
    "store-kit/index": "src/store-kit/index.ts",
    "conformance/index": "src/conformance/index.ts",
    "otel/index": "src/otel/index.ts",
  },
  format: ["esm", "cjs"],
  esbuildOptions(options, { format }) {
    if (format === "cjs" && options.entryPoints && !Array.isArray(options.entryPoints)) {
      const { "conformance/index": _esmOnly, ...dual } = options.entryPoints;
      options.entryPoints = dual;
    }
  },
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  external: ["vitest", "jose", /^@opentelemetry\//],
});

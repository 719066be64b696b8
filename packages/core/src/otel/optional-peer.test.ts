import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = dirname(dirname(fileURLToPath(import.meta.url)));

/** The packages an entry point loads with its static (value) imports, through every source file it reaches. */
function packagesLoadedBy(entry: string): Set<string> & { readonly files: number } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    // `import … from "x"` and `export … from "x"`, but not `import type` / `export type` (erased).
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gms)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) {
        packages.add(spec);
        continue;
      }
      const base = join(dirname(file), spec);
      const found = [`${base}.ts`, join(base, "index.ts")].find((f) => existsSync(f));
      if (found) visit(found);
    }
  };
  visit(join(src, entry));
  return Object.assign(packages, { files: seen.size });
}

describe("@opentelemetry/api, an optional peer", () => {
  it.each(["index.ts", "testing/index.ts", "store-kit/index.ts", "conformance/index.ts"])("is never loaded by %s", (entry) => {
    const loaded = packagesLoadedBy(entry);
    expect(loaded.files).toBeGreaterThan(3);
    expect([...loaded].filter((p) => p.startsWith("@opentelemetry/"))).toEqual([]);
  });

  it("is loaded by @alloovium/core/otel alone", () => {
    expect(packagesLoadedBy("otel/index.ts")).toContain("@opentelemetry/api");
  });
});

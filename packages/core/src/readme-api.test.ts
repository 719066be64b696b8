import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const ENTRIES = { root: here("./index.ts"), storeKit: here("./store-kit/index.ts") };
// One program for both entries; no lib and no @types: only the export graph is needed.
const program = ts.createProgram(Object.values(ENTRIES), { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022, noLib: true, types: [], noEmit: true });
const checker = program.getTypeChecker();

/** Every name an entry point exports (values and types), as the type checker sees it. */
function exportedNames(entry: string): string[] {
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker.getExportsOfModule(module).map((s) => s.name).sort();
}

/** The identifiers in backticks in one `## heading` section of the README. */
function namesIn(section: string): string[] {
  const readme = readFileSync(here("../README.md"), "utf8");
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no "## ${section}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const text = readme.slice(start, end < 0 ? undefined : end);
  return [...new Set([...text.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!))].sort();
}

const EXPLANATORY = new Set(["FakeClock"]); // named in the prose, exported elsewhere

describe("the README's API lists", () => {
  it("name exactly what the root exports", () => {
    const names = exportedNames(ENTRIES.root);
    expect(names).toContain("createPolicy");
    expect(namesIn("API").filter((n) => !EXPLANATORY.has(n))).toEqual(names);
  });

  it("name exactly what the store-kit subpath exports", () => {
    expect(namesIn("Store kit")).toEqual(exportedNames(ENTRIES.storeKit));
  });

  it("keep the root and the store kit apart: no name in both", () => {
    const root = new Set(exportedNames(ENTRIES.root));
    expect(exportedNames(ENTRIES.storeKit).filter((n) => root.has(n))).toEqual([]);
  });
});

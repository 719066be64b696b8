/** Writes the sample's OpenAPI document to the file named by the first argument (for the linters in .ci/run). */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { sampleOpenApiDocument } from "../src/openapi";

const file = process.argv[2];
if (!file) throw new Error("usage: tsx scripts/write-openapi.ts <file>");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(sampleOpenApiDocument(), null, 2)}\n`);

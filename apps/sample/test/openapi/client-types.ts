/** The typed client's types: `openapi-typescript` over the sample's document, as committed in api.d.ts. */
import openapiTS, { astToString } from "openapi-typescript";
import { sampleOpenApiDocument } from "../../src/openapi";

export const API_TYPES_FILE = new URL("./api.d.ts", import.meta.url);

const HEADER = "// Generated from the sample's OpenAPI document by openapi-typescript: `pnpm --filter @alloovium/sample-app openapi:types`.\n// A test (typed-client.test.ts) fails when it is out of date.\n\n";

/** The text api.d.ts must hold. */
export async function generateApiTypes(): Promise<string> {
  const ast = await openapiTS(sampleOpenApiDocument() as unknown as Parameters<typeof openapiTS>[0]);
  return HEADER + astToString(ast);
}

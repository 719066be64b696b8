// "vitest" for runtime-conformance.ts under `deno test` (mapped by runtime-conformance.deno.json):
// the hooks and tests of node:test, which Deno runs, and jest's standalone `expect`, which takes
// no message argument (vitest's second argument only labels a failure).
import { expect as jestExpect } from "expect";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";

export const expect = (actual: unknown, _message?: string) => jestExpect(actual);
export { after as afterAll, afterEach, before as beforeAll, beforeEach, describe, it };

import { describe } from "vitest";
import { FRAMEWORKS, MEMORY } from "./support/app";
import { contractSuite } from "./support/contract";

// The contract, byte for byte, on each framework with memory stores.
describe.each(FRAMEWORKS)("v2 contract on %s (memory stores)", (framework) => {
  contractSuite(framework, MEMORY);
});

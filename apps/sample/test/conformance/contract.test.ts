import { afterAll, describe, expect } from "vitest";
import { sampleOpenApiDocument } from "../../src/openapi";
import { createResponseValidator } from "../openapi/response-validator";
import { FRAMEWORKS, MEMORY } from "./support/app";
import { contractSuite } from "./support/contract";
import { recordedExchanges } from "./support/http";

// The contract, byte for byte, on each framework with memory stores.
describe.each(FRAMEWORKS)("v2 contract on %s (memory stores)", (framework) => {
  contractSuite(framework, MEMORY);
});

// Every response the suite saw on an operation of the OpenAPI document is one the document
// describes (status, media type, body, headers): a response it does not describe fails the file.
afterAll(() => {
  const validator = createResponseValidator(sampleOpenApiDocument());
  const report = validator.check(recordedExchanges);
  expect(report.failures.slice(0, 50), `${report.failures.length} responses the document does not describe`).toEqual([]);
  expect(report.checked).toBeGreaterThan(500);
  // The raw-socket exchanges (the HTTP server's own refusals) are among them.
  const raw = recordedExchanges.filter((e) => e.response.rawHeaders.length === 0); // the raw ones keep no header list
  expect(raw.map((e) => (e.response.body as { code?: string } | undefined)?.code)).toEqual(expect.arrayContaining(["malformed_request", "headers_too_large"]));
  // Each operation was seen answering at least one success.
  const withoutSuccess = validator.operationIds().filter((id) => ![...(report.seen.get(id) ?? [])].some((s) => s >= 200 && s < 300));
  expect(withoutSuccess).toEqual([]);
});

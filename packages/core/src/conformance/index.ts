/**
 * One conformance suite per store interface, run against every implementation (memory here,
 * Redis in `@alloovium/redis`). Import from `@alloovium/core/conformance` inside a vitest file.
 */
export { bucketStoreConformance, type BucketStoreHarness } from "./buckets";
export { idempotencyStoreConformance, type IdempotencyStoreHarness } from "./idempotency";
export { keyStoreConformance, type KeyStoreHarness } from "./keys";
export { creditStoreConformance, type CreditStoreHarness } from "./credits";
export { adapterConformance, adapterSuiteCapabilities, type AdapterApp, type AdapterConformanceOptions, type AdapterHarness } from "./adapter";
export { pointValue, startTelemetryRig, telemetrySdkInstalled, type CollectedMetric, type CollectedPoint, type CollectedSpan, type TelemetryRig } from "./telemetry";

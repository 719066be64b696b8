import { randomUUID } from "node:crypto";
import { afterEach, beforeEach } from "vitest";

/** What every store harness may give back: a cleanup run after each test. */
export interface Cleanup {
  cleanup?(): Promise<void> | void;
}

/**
 * Inside a suite's `describe`: a fresh harness and a fresh tenant id before each test (tests never
 * share records), handed to `use`; the harness's cleanup after each test.
 */
export function eachTest<H extends Cleanup>(setup: () => Promise<H> | H, use: (harness: H, tenantId: string) => void): void {
  let current: H | undefined;
  beforeEach(async () => {
    current = await setup();
    use(current, randomUUID());
  });
  afterEach(async () => {
    await current?.cleanup?.();
  });
}

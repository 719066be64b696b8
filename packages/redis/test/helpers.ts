import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";

/** A client on the run's Redis; errors are expected in fault tests, so they are not logged. */
export function testClient(url = inject("redisUrl")): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 3 });
  c.on("error", () => {});
  return c;
}

/** A key prefix of its own under the run's prefix (deleted by the global teardown). */
export function testPrefix(name: string): string {
  return `${inject("keyPrefix")}-${name}-${randomBytes(3).toString("hex")}`;
}

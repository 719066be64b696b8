import type { RedisClient } from "./connection";

/** What a store does when Redis fails or does not answer in time. */
export type FailureMode = "open" | "closed";

/** Options every Redis store takes. */
export interface RedisStoreBaseOptions {
  /** The caller's ioredis `Redis` or `Cluster`. Do not set ioredis' own `keyPrefix` on it. */
  readonly client: RedisClient;
  /**
   * Prefix of every key and of the invalidation channel. No `{` or `}` (the tenant is the hash tag).
   * @default "alloovium"
   */
  readonly keyPrefix?: string;
  /**
   * How long the store waits for one Redis round trip before it fails (open or closed). Enforced
   * by the store itself, whatever the client's own settings.
   * @default 250
   */
  readonly commandTimeoutMs?: number;
  /** Told of every Redis failure the store absorbed (a fallback or an `unavailable` claim). */
  readonly onError?: (error: unknown, operation: string) => void;
}

export const DEFAULT_PREFIX = "alloovium";
export const DEFAULT_TIMEOUT_MS = 250;

export function checkBase(factory: string, o: RedisStoreBaseOptions | undefined): { prefix: string; timeoutMs: number } {
  if (!o || typeof o !== "object") throw new TypeError(`${factory}: options are required`);
  const c = o.client as unknown as Record<string, unknown> | undefined;
  if (!c || typeof c.evalsha !== "function" || typeof c.publish !== "function") {
    throw new TypeError(`${factory}: \`client\` must be an ioredis Redis or Cluster`);
  }
  const prefix = o.keyPrefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    throw new TypeError(`${factory}: \`keyPrefix\` must be a non-empty string without { or }`);
  }
  const timeoutMs = o.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`${factory}: \`commandTimeoutMs\` must be a positive number of milliseconds`);
  }
  if (o.onError !== undefined && typeof o.onError !== "function") throw new TypeError(`${factory}: \`onError\` must be a function`);
  return { prefix, timeoutMs };
}

export function checkFailure(factory: string, name: string, v: unknown, dflt: FailureMode): FailureMode {
  if (v === undefined) return dflt;
  if (v !== "open" && v !== "closed") throw new TypeError(`${factory}: \`${name}\` must be "open" or "closed"`);
  return v;
}

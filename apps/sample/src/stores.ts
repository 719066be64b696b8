import type { Admission, BucketStore, IdempotencyStore, KeyStore, VerifiedKeyCache } from "@alloovium/core";

/** Redis-backed stores for the policy, and what to do with the verified-key cache once built. */
export interface RedisWiring {
  readonly buckets: BucketStore;
  readonly idempotency: IdempotencyStore;
  readonly admission: Admission;
  readonly keyStore: KeyStore;
  /** Subscribes the policy's key cache to invalidations (revoke, roll) from every instance. */
  watch(cache: VerifiedKeyCache): Promise<void>;
  /** Stops watching and closes both connections. */
  close(): Promise<void>;
}

/**
 * Connects to Redis (one client for commands, one for the invalidation subscription) and builds
 * `@alloovium/redis`'s stores. Loaded only when `redisUrl` is set.
 */
export async function connectRedis(url: string, keyPrefix: string, log: (line: string) => void): Promise<RedisWiring> {
  const { Redis: RedisClient } = await import("ioredis");
  const { createRedisStores } = await import("@alloovium/redis");
  const client = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const subscriber = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let lastError = "";
  const onError = (e: Error) => {
    if (e.message !== lastError) log(`redis: ${e.message}`); // once per distinct error, not per retry
    lastError = e.message;
  };
  client.on("error", onError);
  subscriber.on("error", onError);
  try {
    await Promise.all([client.connect(), subscriber.connect()]);
  } catch (e) {
    client.disconnect();
    subscriber.disconnect();
    throw new Error(`cannot connect to Redis: ${lastError || (e instanceof Error ? e.message : String(e))}`);
  }
  lastError = "";
  const stores = createRedisStores({ client, keyPrefix });
  let unwatch: (() => Promise<void>) | undefined;
  return {
    buckets: stores.buckets,
    idempotency: stores.idempotency,
    admission: stores.admission,
    keyStore: stores.keyStore,
    async watch(cache) {
      unwatch = await stores.watchKeyInvalidations(cache, subscriber);
    },
    async close() {
      await unwatch?.().catch(() => {});
      await Promise.allSettled([client.quit(), subscriber.quit()]);
    },
  };
}

import type { ConnectedRedisStores } from "@alloovium/redis";

/**
 * Connects to Redis (one connection for commands, one for the invalidation subscription) with
 * `@alloovium/redis`'s `connectRedisStores`: the stores for the policy, the watch that keeps the
 * policy's key cache in step with every instance, and the close. Loaded only when `redisUrl` is set.
 */
export async function connectRedis(url: string, keyPrefix: string, log: (line: string) => void): Promise<ConnectedRedisStores> {
  const { Redis } = await import("ioredis");
  const { connectRedisStores } = await import("@alloovium/redis");
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  return connectRedisStores({
    client,
    subscriber,
    keyPrefix,
    // Connection errors once per distinct error; the stores' absorbed failures reach the policy's onStoreError too.
    onError: (e, operation) => {
      if (operation === "connection") log(`redis: ${e instanceof Error ? e.message : String(e)}`);
    },
  });
}

/** What `connectRedis` gives the server: `{ stores, watch, close }`. */
export type RedisWiring = ConnectedRedisStores;

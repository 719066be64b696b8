import type { VerifiedKeyCache } from "@alloovium/core";
import type { RedisClient } from "./connection";

interface Subscriber {
  status: string;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Subscribes `subscriber` (a connection of its own: a subscribed connection runs no other
 * commands) to `channel` and forgets each published digest in `cache`. Every (re)subscription
 * clears the cache, since messages published while disconnected are lost. Resolves once
 * subscribed, to a function that unsubscribes.
 *
 * Revocation bound: while subscribed, other instances see a change as soon as the message
 * arrives (milliseconds); while the subscriber is disconnected, at most the cache's `ttlMs`.
 */
export async function watchChannel(cache: VerifiedKeyCache, subscriber: RedisClient, channel: string): Promise<() => Promise<void>> {
  if (!cache || typeof cache.invalidate !== "function" || typeof cache.clear !== "function") {
    throw new TypeError("watchKeyInvalidations: `cache` must be a VerifiedKeyCache");
  }
  const s = subscriber as unknown as Subscriber;
  if (!s || typeof s.subscribe !== "function" || typeof s.on !== "function") {
    throw new TypeError("watchKeyInvalidations: `subscriber` must be an ioredis Redis or Cluster connection of its own");
  }
  let active = true;
  const onMessage = (ch: unknown, message: unknown) => {
    if (ch !== channel || typeof message !== "string") return;
    for (const digest of message.split("\n")) if (digest) cache.invalidate(digest);
  };
  // ioredis resubscribes by itself on reconnect; subscribing again here is harmless and its reply
  // tells us when we are listening, which is when the cache must be cleared.
  const onReady = () => {
    if (!active) return;
    s.subscribe(channel).then(
      () => cache.clear(),
      () => cache.clear(),
    );
  };
  s.on("message", onMessage);
  s.on("ready", onReady);
  await s.subscribe(channel);
  cache.clear();
  return async () => {
    if (!active) return;
    active = false;
    s.off("message", onMessage);
    s.off("ready", onReady);
    if (s.status === "ready") await s.unsubscribe(channel);
  };
}

import type { VerifiedKeyCache } from "@alloovium/core";
import type { RedisClient } from "./connection";
import { createRedisStores, type RedisStores, type RedisStoresOptions } from "./stores";

/** Options of `connectRedisStores`: those of `createRedisStores` and the subscriber connection. */
export interface ConnectRedisStoresOptions extends RedisStoresOptions {
  /**
   * A connection of its own for the invalidation feed (a subscribed connection runs no other
   * commands), e.g. `client.duplicate()`.
   */
  readonly subscriber: RedisClient;
  /**
   * Told of every Redis failure a store absorbed (as with `createRedisStores`) and of the
   * connections' errors, as operation `"connection"`: once per distinct message, not on every
   * retry, until that connection is ready again.
   */
  readonly onError?: (error: unknown, operation: string) => void;
}

/** What `connectRedisStores` resolves to. */
export interface ConnectedRedisStores {
  /** The stores, as `createRedisStores` builds them: `createPolicy({ stores })` takes them. */
  readonly stores: RedisStores;
  /**
   * Subscribes `cache` (the policy's verified-key cache) to the key invalidations every
   * instance's `stores.keys` publishes. Resolves once subscribed.
   */
  watch(cache: VerifiedKeyCache): Promise<void>;
  /**
   * Stops watching, stops the ledger flush (after one last round) and quits both connections.
   * Idempotent: every call answers the same promise.
   */
  close(): Promise<void>;
}

interface Connectable {
  status: string;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Connects the caller's two ioredis connections (commands and the invalidation subscription),
 * builds the stores on them and gives the watch and the close that go with them. A lazy
 * connection (`lazyConnect: true`, status `wait`) is connected here; one already connecting is
 * waited for. If either fails to connect, both are disconnected and the promise rejects with an
 * Error naming the cause. Options are checked first, as `createRedisStores` checks them.
 * @example
 * const client = new Redis(process.env.REDIS_URL!, { lazyConnect: true });
 * const redis = await connectRedisStores({ client, subscriber: client.duplicate(), keyPrefix: "alloovium",
 *   onError: (e, operation) => console.error(`redis ${operation}:`, e) });
 * const policy = createPolicy({ environment: "live", stores: redis.stores, keyHasher });
 * await redis.watch(policy.keyCache);
 * process.on("SIGTERM", () => void redis.close());
 */
export async function connectRedisStores(options: ConnectRedisStoresOptions): Promise<ConnectedRedisStores> {
  if (!options || typeof options !== "object") throw new TypeError("connectRedisStores: options are required");
  const { subscriber, ...rest } = options;
  // The ledger flush starts once connected (and not at all when the connection fails).
  const autoStart = rest.ledgerFlush?.autoStart ?? true;
  const stores = createRedisStores(rest.ledger ? { ...rest, ledgerFlush: { ...rest.ledgerFlush, autoStart: false } } : rest); // checks `client`, `onError` and the rest
  const s = subscriber as unknown as Connectable | undefined;
  if (!s || typeof s.connect !== "function" || typeof s.on !== "function" || typeof (s as unknown as { subscribe?: unknown }).subscribe !== "function") {
    throw new TypeError("connectRedisStores: `subscriber` must be an ioredis Redis or Cluster connection");
  }
  if ((subscriber as unknown) === (options.client as unknown)) {
    throw new TypeError("connectRedisStores: `subscriber` must be a connection of its own (e.g. `client.duplicate()`), not `client`");
  }
  const c = options.client as unknown as Connectable;
  const onError = options.onError;
  let closed = false;
  const reporters = [report(c, "client"), report(s, "subscriber")];

  // Each distinct message once until the connection is ready again; a Cluster's nodes report their
  // own failures as "node error".
  function report(conn: Connectable, name: string) {
    let last: string | undefined;
    const seen = new Set<string>();
    const error = (e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      last = message;
      if (seen.has(message)) return;
      if (seen.size < 100) seen.add(message);
      if (!closed) onError?.(e, "connection");
    };
    const ready = () => {
      last = undefined;
      seen.clear();
    };
    conn.on("error", error);
    conn.on("node error", error);
    conn.on("ready", ready);
    return { name, lastError: () => last, detach: () => (conn.off("error", error), conn.off("node error", error), conn.off("ready", ready)) };
  }

  try {
    await Promise.all([ready(c, "client"), ready(s, "subscriber")]);
  } catch (e) {
    closed = true;
    c.disconnect();
    s.disconnect();
    await Promise.all([ended(c), ended(s)]);
    for (const r of reporters) r.detach();
    const cause = reporters.map((r) => r.lastError()).find((m) => m !== undefined) ?? (e instanceof Error ? e.message : String(e));
    throw new Error(`connectRedisStores: cannot connect to Redis: ${cause}`, { cause: e });
  }

  if (autoStart) stores.ledgerFlusher?.start();
  const unwatches: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  return {
    stores,
    async watch(cache) {
      if (closed) throw new Error("connectRedisStores: watch after close");
      const unwatch = await stores.watchKeyInvalidations(cache, subscriber);
      if (closed) {
        // `close` ran while it subscribed: leave nothing on the ended subscriber.
        await unwatch().catch(() => {});
        throw new Error("connectRedisStores: watch after close");
      }
      unwatches.push(unwatch);
    },
    close() {
      return (closing ??= (async () => {
        closed = true;
        // The last entries queued by this instance go to the ledger while the client is still up.
        await stores.ledgerFlusher?.stop();
        await Promise.allSettled(unwatches.splice(0).map((u) => u()));
        await Promise.allSettled([quit(c), quit(s)]);
        for (const r of reporters) r.detach();
      })());
    },
  };
}

/** Resolves once `conn` is ready: connects a lazy one, waits for one connecting. */
function ready(conn: Connectable, name: string): Promise<void> {
  switch (conn.status) {
    case "ready":
      return Promise.resolve();
    case "wait":
      return conn.connect();
    case "connecting":
    case "connect":
    case "reconnecting":
      return new Promise<void>((resolve, reject) => {
        const onReady = () => {
          conn.off("close", onClose);
          resolve();
        };
        const onClose = () => {
          conn.off("ready", onReady);
          reject(new Error(`the ${name} connection closed before it was ready`));
        };
        conn.on("ready", onReady);
        conn.on("close", onClose);
      });
    default:
      return Promise.reject(new Error(`the ${name} connection is ${conn.status} (closed by its owner)`));
  }
}

/** QUIT (or a plain disconnect when QUIT cannot be sent), then waits for the socket to close. */
async function quit(conn: Connectable): Promise<void> {
  if (conn.status === "end") return;
  if (conn.status !== "ready") conn.disconnect();
  else {
    try {
      await conn.quit();
    } catch {
      conn.disconnect();
    }
  }
  await ended(conn);
}

/**
 * After `disconnect()` or QUIT: resolves once `conn` holds nothing open (at most ~2 s later). A
 * socket still open closes and ends the connection; one that was waiting to reconnect has had its
 * timer cleared by `disconnect()` and holds nothing (ioredis leaves its status `reconnecting`).
 */
function ended(conn: Connectable): Promise<void> {
  if (conn.status === "end" || conn.status === "reconnecting" || conn.status === "wait") return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      conn.off("end", done);
      conn.off("close", done);
      resolve();
    };
    // Kept referenced: a Cluster whose nodes are all down stays `disconnecting` and never ends,
    // and `close()` must still settle (an unref'd timer would let the process exit first).
    const timer = setTimeout(done, 2000);
    conn.on("end", done);
    // A Cluster with no node left to close emits `close` without `end`.
    if (isCluster(conn)) conn.on("close", done);
  });
}

function isCluster(conn: Connectable): boolean {
  return typeof (conn as { nodes?: unknown }).nodes === "function";
}

import type { Cluster, Redis } from "ioredis";
import type { LuaScript } from "./scripts";

/** The caller's ioredis client: a standalone/Sentinel `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** A Redis command did not answer within `commandTimeoutMs`. */
export class RedisStoreTimeoutError extends Error {
  override readonly name = "RedisStoreTimeoutError";
}

/** The client is not connected (reconnecting or closed), so the store did not wait for it. */
export class RedisStoreUnavailableError extends Error {
  override readonly name = "RedisStoreUnavailableError";
}

/** A decision script ran after its deadline (behind a pause) and wrote nothing. */
export class RedisStoreLateError extends Error {
  override readonly name = "RedisStoreLateError";
}

// The subset of the ioredis API the stores use; `Redis` and `Cluster` both provide it, and the
// replies used (arrays, strings, integers) read the same under RESP2 and RESP3.
interface Commands {
  status: string;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(lua: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  time(): Promise<unknown>;
}

const DOWN = new Set(["reconnecting", "close", "end", "disconnecting"]);

interface Pending {
  readonly until: number;
  readonly what: string;
  readonly reject: (e: Error) => void;
  done: boolean;
}

/**
 * Command timeouts without a timer per command (the hot path runs thousands a second): one
 * sweep, running only while commands are pending, fails those past their time. A command
 * fails between `timeoutMs` and `timeoutMs` + one sweep period (a tenth of it) after it left.
 */
class Timeouts {
  readonly #ms: number;
  readonly #every: number;
  readonly #pending = new Set<Pending>();
  #timer: NodeJS.Timeout | null = null;

  constructor(ms: number) {
    this.#ms = ms;
    this.#every = Math.max(1, Math.min(50, Math.floor(ms / 10)));
  }

  wrap<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { until: Date.now() + this.#ms, what, reject, done: false };
      this.#pending.add(entry);
      if (!this.#timer) {
        this.#timer = setInterval(() => this.#sweep(), this.#every);
        this.#timer.unref();
      }
      p.then(
        (v) => {
          if (entry.done) return;
          entry.done = true;
          this.#pending.delete(entry);
          resolve(v);
        },
        (e: unknown) => {
          if (entry.done) return;
          entry.done = true;
          this.#pending.delete(entry);
          reject(e);
        },
      );
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const e of this.#pending) {
      if (e.until > now) continue;
      e.done = true;
      this.#pending.delete(e);
      e.reject(new RedisStoreTimeoutError(`${e.what}: no answer from Redis within ${this.#ms} ms`));
    }
    if (this.#pending.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}

/**
 * The offset between this process's clock and the server's, as a lower bound (`serverNow -
 * receivedAt` of a recent reply). Used only to give decision scripts a deadline no later than
 * the moment the client gives up; never used as the time of a decision.
 */
class ServerClock {
  #offset: number | undefined;
  #at = 0;

  sample(serverNowMs: number, receivedAt: number): void {
    const s = serverNowMs - receivedAt;
    if (!Number.isFinite(s)) return;
    // The tightest lower bound wins; an old one is replaced so that a server clock step back heals.
    if (this.#offset === undefined || s > this.#offset || receivedAt - this.#at > 5000) {
      this.#offset = s;
      this.#at = receivedAt;
    }
  }

  get offset(): number | undefined {
    return this.#offset;
  }
}

const clocks = new WeakMap<object, ServerClock>();

/**
 * A client plus the store's own command timeout. Shared by the stores of one
 * `createRedisStores` call (the server clock estimate is shared per client).
 */
export class Connection {
  readonly client: RedisClient;
  readonly timeoutMs: number;
  readonly #c: Commands;
  readonly #clock: ServerClock;
  readonly #timeouts: Timeouts;

  constructor(client: RedisClient, timeoutMs: number) {
    this.client = client;
    this.timeoutMs = timeoutMs;
    this.#c = client as unknown as Commands;
    this.#timeouts = new Timeouts(timeoutMs);
    let clock = clocks.get(client);
    if (!clock) {
      clock = new ServerClock();
      clocks.set(client, clock);
    }
    this.#clock = clock;
  }

  /** Throws at once when the client is known to be disconnected (no queueing behind it). */
  checkUp(what: string): void {
    if (DOWN.has(this.#c.status)) throw new RedisStoreUnavailableError(`${what}: Redis client is ${this.#c.status}`);
  }

  /** Runs one command with the store's timeout. */
  command<T>(what: string, run: () => Promise<T>): Promise<T> {
    this.checkUp(what);
    return this.#timeouts.wrap(run(), what);
  }

  /**
   * The server's clock now (ms), as estimated from earlier replies (a lower bound within a
   * round trip); reads `TIME` first when nothing is known yet. For choosing which keys to read,
   * never for deciding: scripts read `TIME` themselves.
   */
  async serverNow(what: string): Promise<number> {
    if (this.#clock.offset === undefined) {
      const [sec, usec] = (await this.command(what, () => this.#c.time())) as [string, string];
      this.#clock.sample(Number(sec) * 1000 + Math.floor(Number(usec) / 1000), Date.now());
    }
    return Date.now() + (this.#clock.offset ?? 0);
  }

  /** EVALSHA, falling back to EVAL (which also caches it) on NOSCRIPT; on Cluster per node. */
  #eval(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.#c.evalsha(script.sha, keys.length, ...keys, ...args).catch((e: unknown) => {
      if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return this.#c.eval(script.lua, keys.length, ...keys, ...args);
      throw e;
    });
  }

  /** Runs a script that does not need a deadline (complete, release). */
  script(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.command(script.name, () => this.#eval(script, keys, args));
  }

  /**
   * Runs a decision script with a deadline in ARGV[4] (`args[3]`, overwritten here). Every
   * decision script answers the server time third; a `late` reply (first element -1) becomes a
   * `RedisStoreLateError`. Written with few closures: this is the per-request hot path.
   */
  decision(script: LuaScript, keys: readonly string[], args: (string | number)[]): Promise<unknown[]> {
    this.checkUp(script.name);
    const start = Date.now();
    const run = this.#clock.offset !== undefined ? this.#send(script, keys, args, start) : this.#syncThenSend(script, keys, args, start);
    return this.#timeouts.wrap(run, script.name);
  }

  async #syncThenSend(script: LuaScript, keys: readonly string[], args: (string | number)[], start: number): Promise<unknown[]> {
    const [sec, usec] = (await this.#c.time()) as [string, string];
    this.#clock.sample(Number(sec) * 1000 + Math.floor(Number(usec) / 1000), Date.now());
    return this.#send(script, keys, args, start);
  }

  #send(script: LuaScript, keys: readonly string[], args: (string | number)[], start: number): Promise<unknown[]> {
    // Half the timeout is left for the reply to travel back before the client gives up.
    args[3] = Math.floor(start + (this.#clock.offset ?? 0) + this.timeoutMs / 2);
    return this.#c.evalsha(script.sha, keys.length, ...keys, ...args).then(this.#onReply, (e: unknown) => {
      if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return this.#c.eval(script.lua, keys.length, ...keys, ...args).then(this.#onReply);
      throw e;
    });
  }

  readonly #onReply = (r: unknown): unknown[] => {
    const reply = r as unknown[];
    this.#clock.sample(Number(reply[2]), Date.now());
    if (reply[0] === -1) throw new RedisStoreLateError("a decision script ran after its deadline and wrote nothing");
    return reply;
  };
}

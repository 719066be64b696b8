import type { Cluster, Redis } from "ioredis";
import { packDoubles, type DecisionArgs, type RedisScript } from "./script";

/** The caller's ioredis client: a standalone/Sentinel `Redis` or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * A Redis command did not answer within `commandTimeoutMs`.
 * @example createRedisStores({ client, onError: (e, op) => { if (e instanceof RedisStoreTimeoutError) metrics.timeouts.inc({ op }); } })
 */
export class RedisStoreTimeoutError extends Error {
  override readonly name = "RedisStoreTimeoutError";
}

/**
 * The client is not connected (reconnecting or closed), so the store did not wait for it.
 * @example onStoreError: (e) => { if (e instanceof RedisStoreUnavailableError) log.warn("redis down: failing open"); }
 */
export class RedisStoreUnavailableError extends Error {
  override readonly name = "RedisStoreUnavailableError";
}

/**
 * A decision script ran after its deadline (behind a pause) and wrote nothing.
 * @example onError: (e) => { if (e instanceof RedisStoreLateError) metrics.lateScripts.inc(); }
 */
export class RedisStoreLateError extends Error {
  override readonly name = "RedisStoreLateError";
}

// The subset of the ioredis API the stores use; `Redis` and `Cluster` both provide it, and the
// replies used (arrays, strings, integers) read the same under RESP2 and RESP3.
interface Commands {
  status: string;
  evalsha(sha: string, numKeys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
  eval(lua: string, numKeys: number, ...args: (string | number | Buffer)[]): Promise<unknown>;
  time(): Promise<unknown>;
}

/** A decision script's ARGV as sent: its arguments, or one binary ARGV of doubles. */
function wire(script: RedisScript<readonly string[], readonly (string | number)[], unknown>, args: readonly (string | number)[]): readonly (string | number | Buffer)[] {
  return script.doubles ? [packDoubles(args)] : args;
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

  /**
   * `p` with the timeout, mapped by `map` (which may throw: the result rejects). When `p` fails
   * and `retry` answers a promise for the error, that promise is waited for instead (once).
   */
  wrap<T, R = T>(p: Promise<T>, what: string, map?: (v: T) => R, since = Date.now(), retry?: (e: unknown) => Promise<T> | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Pending = { until: since + this.#ms, what, reject, done: false };
      this.#pending.add(entry);
      if (!this.#timer) {
        this.#timer = setInterval(() => this.#sweep(), this.#every);
        this.#timer.unref();
      }
      const ok = (v: T) => {
        if (entry.done) return;
        entry.done = true;
        this.#pending.delete(entry);
        if (!map) return resolve(v as unknown as R);
        try {
          resolve(map(v));
        } catch (e) {
          reject(e);
        }
      };
      const fail = (e: unknown) => {
        if (entry.done) return;
        entry.done = true;
        this.#pending.delete(entry);
        reject(e);
      };
      p.then(ok, (e: unknown) => {
        const again = entry.done ? undefined : retry?.(e);
        if (again) again.then(ok, fail);
        else fail(e);
      });
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
  #eval(script: RedisScript<readonly string[], readonly (string | number)[], unknown>, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.#c.evalsha(script.sha, keys.length, ...keys, ...args).catch((e: unknown) => {
      if (e instanceof Error && e.message.startsWith("NOSCRIPT")) return this.#c.eval(script.lua, keys.length, ...keys, ...args);
      throw e;
    });
  }

  /** Runs a script that takes no deadline (complete, release, the key scripts), decoding its reply. */
  script<K extends readonly string[], A extends readonly (string | number)[], R>(script: RedisScript<K, A, R>, keys: K, args: A): Promise<R> {
    this.checkUp(script.name);
    return this.#timeouts.wrap(this.#eval(script as RedisScript<readonly string[], readonly (string | number)[], R>, keys, args), script.name, script.decode);
  }

  /**
   * Runs a decision script with its deadline in ARGV[4] (`args[3]`, overwritten here), decoding
   * its reply. Every decision script answers the server time third; a `late` reply (first
   * element -1) becomes a `RedisStoreLateError`. Written with few closures and promises: this is
   * the per-request hot path.
   */
  decision<K extends readonly string[], A extends DecisionArgs, R>(script: RedisScript<K, A, R>, keys: K, args: A): Promise<R> {
    if (!script.deadline) throw new TypeError(`${script.name} is not a decision script`);
    this.checkUp(script.name);
    const start = Date.now();
    const s = script as unknown as RedisScript<readonly string[], (string | number)[], R>;
    const a = args as unknown as (string | number)[];
    const run = this.#clock.offset !== undefined ? this.#send(s, keys, a, start) : this.#syncThenSend(s, keys, a, start);
    return this.#timeouts.wrap(run, script.name, (reply) => script.decode(this.#checked(reply)), start, (e) =>
      e instanceof Error && e.message.startsWith("NOSCRIPT") ? this.#c.eval(s.lua, keys.length, ...keys, ...wire(s, a)) : undefined,
    );
  }

  async #syncThenSend(script: RedisScript<readonly string[], (string | number)[], unknown>, keys: readonly string[], args: (string | number)[], start: number): Promise<unknown> {
    const [sec, usec] = (await this.#c.time()) as [string, string];
    this.#clock.sample(Number(sec) * 1000 + Math.floor(Number(usec) / 1000), Date.now());
    return this.#send(script, keys, args, start);
  }

  #send(script: RedisScript<readonly string[], (string | number)[], unknown>, keys: readonly string[], args: (string | number)[], start: number): Promise<unknown> {
    // Half the timeout is left for the reply to travel back before the client gives up.
    args[3] = Math.floor(start + (this.#clock.offset ?? 0) + this.timeoutMs / 2);
    return this.#c.evalsha(script.sha, keys.length, ...keys, ...wire(script, args)); // NOSCRIPT: `decision` retries with EVAL
  }

  /** A decision reply: samples the server clock (third element), refuses `late`. */
  #checked(r: unknown): unknown {
    const reply = r as unknown[];
    this.#clock.sample(Number(reply[2]), Date.now());
    if (reply[0] === -1) throw new RedisStoreLateError("a decision script ran after its deadline and wrote nothing");
    return reply;
  }
}

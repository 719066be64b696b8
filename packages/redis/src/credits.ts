import { randomUUID } from "node:crypto";
import { type CreditStore } from "@alloovium/core";
import {
  HOUR_MS,
  USAGE_RETENTION_MS,
  checkCredits,
  compareUsageRows,
  hourStart,
  type AdmissionCredits,
  type ChargeResult,
  type CreditCharge,
  type CreditLedger,
  type CreditRefund,
  type UsageRow,
} from "@alloovium/core/store-kit";
import { Connection } from "./connection";
import { kFallback, kInternals } from "./internal";
import { KeyLayout } from "./keys";
import { checkBase, checkFailure, type FailureMode, type RedisStoreBaseOptions } from "./options";
import { checkFlushOptions, checkLedger, LEDGER_LUA, LEDGER_SEED_SCRIPT, LedgerFlusher, type LedgerFlushOptions } from "./ledger";
import { defineScript, luaFragment, SERVER_CLOCK } from "./script";

/**
 * Credits: the balance is an integer string (absent = the grant, so a tenant never charged
 * follows the configured grant); usage is a hash per hour of server time, `c:<capability>` calls
 * and `k:<capability>` credits, expiring `retention` ms after the end of its hour. Counts are
 * changed with DECRBY/HINCRBY (integer arithmetic on the server), never formatted from floats.
 * `usage_hour(sec)`: the start (ms) of the hour holding TIME's seconds `sec`.
 * `balance_of(bal, grant)`: a balance, the grant when absent.
 * `charge(bal, uprefix, cap, price, grant, retention, hour)`: takes `price` if held and counts the
 * call in the usage key `uprefix .. hour`; answers whether it did and the balance after.
 */
export const CREDITS_LUA = luaFragment("credits", {
  defines: ["usage_hour", "balance_of", "charge"],
  lua: `
local function usage_hour(sec)
  return (sec - sec % 3600) * 1000
end
local function balance_of(bal, grant)
  local b = redis.call('GET', bal)
  if b then return tonumber(b) end
  return tonumber(grant)
end
local function charge(bal, uprefix, cap, price, grant, retention, hour)
  local b = redis.call('GET', bal)
  local balance = tonumber(b or grant)
  if balance < price then return false, balance end
  if price > 0 then
    if not b then redis.call('SET', bal, grant) end
    balance = redis.call('DECRBY', bal, price)
  end
  local u = uprefix .. string.format('%d', hour)
  if redis.call('HINCRBY', u, 'c:' .. cap, 1) == 1 then redis.call('PEXPIREAT', u, hour + 3600000 + retention) end
  if price > 0 then redis.call('HINCRBY', u, 'k:' .. cap, price) end
  return true, balance
end`,
});

/**
 * Credits in front of a ledger (`RedisCreditStore` with `ledger`): the balance key is present
 * once known (absent = unknown: lost, or a tenant never seen; the caller loads it from the
 * ledger and retries), and every change is appended to the tenant's ledger queue in the same
 * script. Usage is the ledger's, so nothing is counted in Redis.
 * `ledger_charge(bal, held, queue, opened, cap, price, reservation, at)`, on a balance known
 * present (`held`: its value, as GET read it): queues the opening grant of a balance kept before
 * the ledger (`ledger_open`), takes `price` if held and queues the charge entry (amount -price,
 * id = the reservation); answers whether it did, the balance after and the queue's length (0
 * when refused and nothing queued; 1 when the opening went onto an empty queue).
 * `ledger_full(queue, max)`: whether the queue holds `max` entries or more (max 0: never).
 */
export const LEDGER_CREDITS_LUA = luaFragment("ledger-credits", {
  defines: ["ledger_charge", "ledger_full"],
  uses: [LEDGER_LUA],
  lua: `
local function ledger_charge(bal, held, queue, opened, cap, price, reservation, at)
  local fresh = ledger_open(queue, opened, held, at)
  local balance = tonumber(held)
  if balance < price then return false, balance, fresh and 1 or 0 end
  if price > 0 then balance = redis.call('DECRBY', bal, price) end
  local n = ledger_push(queue, 'charge', reservation, 0 - price, cap, at)
  return true, balance, fresh and 1 or n
end
local function ledger_full(queue, max)
  return max > 0 and redis.call('LLEN', queue) >= max
end`,
});

/** What the ledger-mode credit scripts answer: `unknown` when Redis has no balance for the tenant. */
type LedgerReply<T> = { readonly unknown: true } | ({ readonly unknown: false; readonly queued: number } & T);
const UNKNOWN = { unknown: true } as const;

/**
 * A charge in front of a ledger: `LEDGER_CREDITS_LUA`'s charge, or `unknown` (nothing written)
 * when the balance key is absent, or `full` (nothing written) when the queue holds `maxQueued`.
 * Returns { 1 charged | 0 refused | 2 unknown | 3 full | -1 late, balance after, server now ms, hour ms, queue length }.
 */
export const LEDGER_CHARGE_SCRIPT = defineScript<
  [balance: string, queue: string, opened: string],
  [price: number, reservation: string, capability: string, deadline: number, maxQueued: number],
  LedgerReply<{ readonly allowed: boolean; readonly balance: number; readonly hour: number }>
>({
  name: "ledger-charge",
  keys: ["credit balance", "ledger queue", "opened marker"],
  args: ["price", "reservation", "capability", "deadline", "maxQueued"],
  uses: [CREDITS_LUA, LEDGER_CREDITS_LUA],
  lua: `
local held = redis.call('GET', KEYS[1])
if not held then return {2, 0, math.floor(now), 0, 0} end
if ledger_full(KEYS[2], tonumber(ARGV[5])) then return {3, 0, math.floor(now), 0, 0} end
local ok, balance, n = ledger_charge(KEYS[1], held, KEYS[2], KEYS[3], ARGV[3], tonumber(ARGV[1]), ARGV[2], math.floor(now))
return {ok and 1 or 0, balance, math.floor(now), usage_hour(sec), n}
`,
  decode: (r) => {
    const reply = r as number[];
    if (reply[0] === 2) return UNKNOWN;
    if (reply[0] === 3) throw new LedgerQueueFull();
    return { unknown: false, allowed: reply[0] === 1, balance: Number(reply[1]), hour: Number(reply[3]), queued: Number(reply[4]) };
  },
});

/** A charge found its tenant's ledger queue full (`ledgerFlush.maxQueued`): the flush is behind, the ledger likely down. */
export class LedgerQueueFull extends Error {
  constructor() {
    super("RedisCreditStore: the tenant's ledger queue is full (`ledgerFlush.maxQueued`); the flush to the ledger is behind");
    this.name = "LedgerQueueFull";
  }
}

/**
 * A refund in front of a ledger: adds `credits` back and queues `refund:<reservation>` (after the
 * opening grant of a balance kept before the ledger, see `ledger_open`), or answers unknown (nothing written) when the balance key is absent. 0 credits: the balance only.
 * Returns { balance after | nil when unknown, queue length }.
 */
export const LEDGER_REFUND_SCRIPT = defineScript<[balance: string, queue: string, opened: string], [credits: number, capability: string, reservation: string], LedgerReply<{ readonly balance: number }>>({
  name: "ledger-refund",
  keys: ["credit balance", "ledger queue", "opened marker"],
  args: ["credits", "capability", "reservation"],
  uses: [SERVER_CLOCK, LEDGER_LUA],
  lua: `
local b = redis.call('GET', KEYS[1])
if not b then return {false, 0} end
if tonumber(ARGV[1]) == 0 then return {tonumber(b), 0} end
local t, sec, usec, now = server_clock('0')
local fresh = ledger_open(KEYS[2], KEYS[3], b, math.floor(now))
local balance = redis.call('INCRBY', KEYS[1], ARGV[1])
local n = ledger_push(KEYS[2], 'refund', ARGV[3], tonumber(ARGV[1]), ARGV[2], math.floor(now))
return {balance, fresh and 1 or n}
`,
  decode: ledgerBalanceReply,
});

/**
 * A top-up in front of a ledger: adds `credits` and queues a `topup` entry `id`, or answers
 * unknown (nothing written) when the balance key is absent.
 * Returns { balance after | nil when unknown, queue length }.
 */
export const LEDGER_ADD_SCRIPT = defineScript<[balance: string, queue: string, opened: string], [credits: number, id: string], LedgerReply<{ readonly balance: number }>>({
  name: "ledger-add",
  keys: ["credit balance", "ledger queue", "opened marker"],
  args: ["credits", "id"],
  uses: [SERVER_CLOCK, LEDGER_LUA],
  lua: `
local b = redis.call('GET', KEYS[1])
if not b then return {false, 0} end
local t, sec, usec, now = server_clock('0')
local fresh = ledger_open(KEYS[2], KEYS[3], b, math.floor(now))
local balance = redis.call('INCRBY', KEYS[1], ARGV[1])
local n = ledger_push(KEYS[2], 'topup', ARGV[2], tonumber(ARGV[1]), '', math.floor(now))
return {balance, fresh and 1 or n}
`,
  decode: ledgerBalanceReply,
});

function ledgerBalanceReply(r: unknown): LedgerReply<{ readonly balance: number }> {
  const reply = r as [number | null, number];
  return reply[0] === null ? UNKNOWN : { unknown: false, balance: Number(reply[0]), queued: Number(reply[1]) };
}

/** How long after a failed load of a tenant's balance from the ledger the next one fails at once, in ms. */
const LOAD_RETRY_MS = 1000;

/** How often a script may answer `unknown` in a row (the balance lost again just after its load) before the call fails. */
const MAX_LOADS = 3;

/** KEYS and ARGV of `CHARGE_SCRIPT`. */
type ChargeKeys = [balance: string, usagePrefix: string];
type ChargeArgs = [price: number, grant: number, capability: string, deadline: number, usageRetentionMs: number];

/**
 * A credit charge: takes `price` if the balance holds it and counts the call (and its credits)
 * in the usage of the current hour of server time; a refused charge writes nothing. KEYS[2] is
 * the tenant's usage key prefix: the script appends the hour (same hash tag, same slot).
 * Returns { 1 charged | 0 refused | -1 late, balance after, server now ms, hour ms }.
 */
export const CHARGE_SCRIPT = defineScript<ChargeKeys, ChargeArgs, { readonly allowed: boolean; readonly balance: number; readonly hour: number }>({
  name: "charge",
  keys: ["credit balance", "usage key prefix"],
  args: ["price", "grant", "capability", "deadline", "usageRetentionMs"],
  uses: [CREDITS_LUA],
  lua: `
local hour = usage_hour(sec)
local ok, balance = charge(KEYS[1], KEYS[2], ARGV[3], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[5]), hour)
return {ok and 1 or 0, balance, math.floor(now), hour}
`,
  decode: (r) => {
    const reply = r as unknown[];
    return { allowed: reply[0] === 1, balance: Number(reply[1]), hour: Number(reply[3]) };
  },
});

/**
 * Gives back a charge: adds `credits` to the balance (from the grant when absent) and takes
 * them off the capability's credits in the usage of the charge's hour, never below 0 (the call
 * stays counted; an expired hour is left alone). No deadline: a refund that arrives late is
 * still owed. Returns the balance after the refund.
 */
export const REFUND_SCRIPT = defineScript<[balance: string, usage: string], [credits: number, grant: number, capability: string], number>({
  name: "refund", keys: ["credit balance", "usage of the charge's hour"], args: ["credits", "grant", "capability"],
  lua: `
if tonumber(ARGV[1]) == 0 then
  local b = redis.call('GET', KEYS[1])
  return tonumber(b or ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local balance = redis.call('INCRBY', KEYS[1], ARGV[1])
local field = 'k:' .. ARGV[3]
local v = redis.call('HGET', KEYS[2], field)
if v then
  local left = tonumber(v) - tonumber(ARGV[1])
  if left < 0 then left = 0 end
  redis.call('HSET', KEYS[2], field, string.format('%d', left))
end
return balance
`,
  decode: Number,
});

/** A top-up: adds `credits` (>= 1) to the balance (from the grant when absent). Returns the new balance. */
export const ADD_CREDITS_SCRIPT = defineScript<[balance: string], [credits: number, grant: number], number>({
  name: "add-credits", keys: ["credit balance"], args: ["credits", "grant"],
  lua: `
redis.call('SET', KEYS[1], ARGV[2], 'NX')
return redis.call('INCRBY', KEYS[1], ARGV[1])
`,
  decode: Number,
});

/**
 * Usage rows of the hours a caller asks for, filtered on the server's clock: only hours from
 * `since` (and no older than the retention) up to the current hour of `TIME`.
 * KEYS[1..n] usage keys, oldest first; ARGV[1..n] their hours (ms); ARGV[n+1] the first hour
 * asked for (ms), ARGV[n+2] usage retention ms.
 * Returns { server now ms, { hour, field, value, field, value, ... } per non-empty hour }.
 */
export const USAGE_SCRIPT = defineScript<string[], number[], readonly (readonly string[])[]>({
  name: "usage",
  keys: ["...usage keys, oldest first"],
  args: ["...their hours (ms), then the first hour asked for (ms) and the usage retention (ms)"],
  uses: [SERVER_CLOCK],
  lua: `
local t, sec, usec, now = server_clock('0')
local n = #KEYS
local ms = math.floor(now)
local oldest = ms - tonumber(ARGV[n + 2])
oldest = oldest - oldest % 3600000
local from = math.max(tonumber(ARGV[n + 1]), oldest)
local to = ms - ms % 3600000
local out = {ms}
for i = 1, n do
  local h = tonumber(ARGV[i])
  if h >= from and h <= to then
    local row = redis.call('HGETALL', KEYS[i])
    if #row > 0 then
      table.insert(row, 1, ARGV[i])
      out[#out + 1] = row
    end
  end
end
return out
`,
  // The first element is the server time; the rest are the hours' rows.
  decode: (r) => (r as (readonly string[])[]).slice(1),
});

/** The longest `usageRetentionMs` accepted: `usage` reads one key per hour of it at most. */
const MAX_RETENTION_MS = 366 * 24 * HOUR_MS;

/** Options of `RedisCreditStore`. */
export interface RedisCreditStoreOptions extends RedisStoreBaseOptions {
  /**
   * What an admission does when Redis fails while it charges: `open` answers the credit part as
   * `{ outcome: "unavailable" }` and the pipeline lets the call through uncharged; `closed`
   * makes the admission throw (the pipeline answers 503 `service_unavailable`). The store's own
   * methods (`charge`, `refund`, `balance`, `add`, `usage`) always throw on a failure.
   * @default "open"
   */
  readonly failure?: FailureMode;
  /**
   * How long hourly usage is kept, in milliseconds: an hour's key expires this long after the
   * hour ends. At most 366 days.
   * @default USAGE_RETENTION_MS (7 days)
   */
  readonly usageRetentionMs?: number;
  /**
   * The durable ledger behind the balances (e.g. `PostgresLedger` of `@alloovium/postgres`).
   * With it, every grant, charge, refund and top-up is also queued in Redis by the same script
   * and flushed to `ledger.append` in the background (`ledgerFlusher`); a balance Redis lacks is
   * loaded from `ledger.balance` (the grant only for a tenant the ledger has never seen, and its
   * grant entry is recorded); `usage` is read from `ledger.usage`.
   */
  readonly ledger?: CreditLedger;
  /** The background flush of the ledger queues (with `ledger` only). */
  readonly ledgerFlush?: LedgerFlushOptions;
}

interface Commands {
  get(key: string): Promise<string | null>;
}

/**
 * A `CreditStore` on Redis: a tenant's balance is one integer string (`{tenant}:cr`, absent =
 * the grant) and its usage one hash per hour of server time (`{tenant}:u:<hourStartMs>`, fields
 * `c:<capability>` calls and `k:<capability>` credits), both in the tenant's slot. `charge` is
 * one script (check, decrement and count, atomically; on the server's clock); `refund` and `add`
 * one script each; `usage` one script reading the hours asked for.
 * `RedisAdmission` charges it inside its own script, in the same round trip as the bucket
 * decision and the idempotency claim.
 * @example
 * const credits = new RedisCreditStore({ client: new Redis() });
 * const r = await credits.charge({ tenantId, capability: "vault.projects.create", credits: 2, grant: 100_000 });
 */
export class RedisCreditStore implements CreditStore {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #failure: FailureMode;
  readonly #retentionMs: number;
  readonly #onError: (error: unknown, operation: string) => void;
  /** Loads in progress, per tenant: concurrent calls of this process that find the balance unknown load it once. */
  readonly #loading = new Map<string, Promise<void>>();
  /** Loads that failed, per tenant: until when a load fails at once with the same error. */
  readonly #failedLoads = new Map<string, { readonly until: number; readonly error: unknown }>();
  /**
   * With `ledger`: the background flush of the ledger queues into it (started unless
   * `ledgerFlush.autoStart` is false; `stop()` it before closing the client).
   */
  readonly ledgerFlusher?: LedgerFlusher;

  constructor(options: RedisCreditStoreOptions) {
    const { prefix, timeoutMs } = checkBase("RedisCreditStore", options);
    this.#failure = checkFailure("RedisCreditStore", "failure", options.failure, "open");
    this.#retentionMs = checkRetention("RedisCreditStore", "usageRetentionMs", options.usageRetentionMs);
    const ledger = checkLedger("RedisCreditStore", options.ledger);
    const flush = checkFlushOptions("RedisCreditStore", options.ledgerFlush);
    this.#conn = new Connection(options.client, timeoutMs);
    this.#keys = new KeyLayout(prefix);
    this.#onError = options.onError ?? (() => {});
    if (ledger) {
      this.ledgerFlusher = new LedgerFlusher(this.#conn, this.#keys, ledger, flush, this.#onError);
      if (flush.autoStart) this.ledgerFlusher.start();
    }
  }

  async charge(c: CreditCharge): Promise<ChargeResult> {
    const credits = checkCredits("RedisCreditStore.charge", "credits", c.credits, 0);
    const grant = checkCredits("RedisCreditStore.charge", "grant", c.grant, 0);
    checkCapability("RedisCreditStore.charge", c.capability);
    if (this.ledgerFlusher) {
      const reservation = c.reservation ?? randomUUID();
      checkReservation("RedisCreditStore.charge", reservation);
      const reply = await this.#withBalance(c.tenantId, grant, () =>
        this.#conn.decision(
          LEDGER_CHARGE_SCRIPT,
          [this.#keys.credits(c.tenantId), this.#keys.ledgerQueue(c.tenantId), this.#keys.ledgerOpened(c.tenantId)],
          [credits, reservation, c.capability, 0, this.ledgerFlusher!.maxQueued],
        ),
      );
      return { allowed: reply.allowed, balance: reply.balance, charged: reply.allowed ? credits : 0, hour: reply.hour };
    }
    const reply = await this.#conn.decision(
      CHARGE_SCRIPT,
      [this.#keys.credits(c.tenantId), this.#keys.usagePrefix(c.tenantId)],
      [credits, grant, c.capability, 0, this.#retentionMs],
    );
    return { allowed: reply.allowed, balance: reply.balance, charged: reply.allowed ? credits : 0, hour: reply.hour };
  }

  async refund(r: CreditRefund): Promise<number> {
    const credits = checkCredits("RedisCreditStore.refund", "credits", r.credits, 0);
    const grant = checkCredits("RedisCreditStore.refund", "grant", r.grant, 0);
    checkCapability("RedisCreditStore.refund", r.capability);
    const hour = checkCredits("RedisCreditStore.refund", "hour", r.hour, 0);
    if (this.ledgerFlusher) {
      // The ledger names the refunded charge: without its reservation id the refund cannot be recorded.
      if (r.reservation === undefined) throw new TypeError("RedisCreditStore.refund: `reservation` (the charge's id) is required with a ledger");
      checkReservation("RedisCreditStore.refund", r.reservation);
      const reservation = r.reservation;
      const reply = await this.#withBalance(r.tenantId, grant, () =>
        this.#conn.script(LEDGER_REFUND_SCRIPT, [this.#keys.credits(r.tenantId), this.#keys.ledgerQueue(r.tenantId), this.#keys.ledgerOpened(r.tenantId)], [credits, r.capability, reservation]),
      );
      return reply.balance;
    }
    return this.#conn.script(REFUND_SCRIPT, [this.#keys.credits(r.tenantId), this.#keys.usage(r.tenantId, hour)], [credits, grant, r.capability]);
  }

  async balance(tenantId: string, grant: number): Promise<number> {
    checkCredits("RedisCreditStore.balance", "grant", grant, 0);
    const c = this.#conn.client as unknown as Commands;
    const v = await this.#conn.command("balance", () => c.get(this.#keys.credits(tenantId)));
    if (v !== null) return Number(v);
    // Unknown to Redis: the ledger's balance (a read loads nothing), the grant for a tenant it has never seen.
    if (this.ledgerFlusher) return (await this.ledgerFlusher.ledger.balance(tenantId)) ?? grant;
    return grant;
  }

  async add(tenantId: string, credits: number, grant: number): Promise<number> {
    checkCredits("RedisCreditStore.add", "credits", credits, 1);
    checkCredits("RedisCreditStore.add", "grant", grant, 0);
    if (this.ledgerFlusher) {
      const id = `topup:${randomUUID()}`;
      const reply = await this.#withBalance(tenantId, grant, () => this.#conn.script(LEDGER_ADD_SCRIPT, [this.#keys.credits(tenantId), this.#keys.ledgerQueue(tenantId), this.#keys.ledgerOpened(tenantId)], [credits, id]));
      return reply.balance;
    }
    return this.#conn.script(ADD_CREDITS_SCRIPT, [this.#keys.credits(tenantId)], [credits, grant]);
  }

  /**
   * With a ledger: loads the tenant's balance into Redis from `ledger.balance` unless Redis has
   * one (`SET NX`: concurrent loads, in this process or others, set it once); a tenant the ledger
   * has never seen gets `grant`, and its grant entry is queued by the same script. Concurrent
   * calls of this process for one tenant share one load.
   */
  load(tenantId: string, grant: number): Promise<void> {
    const flusher = this.ledgerFlusher;
    if (!flusher) return Promise.resolve();
    // A load that failed a moment ago fails again at once: while the ledger is down, requests of
    // a tenant whose balance Redis lost do not each wait for its timeout.
    const failed = this.#failedLoads.get(tenantId);
    if (failed !== undefined) {
      if (Date.now() < failed.until) return Promise.reject(failed.error);
      this.#failedLoads.delete(tenantId);
    }
    let p = this.#loading.get(tenantId);
    if (!p) {
      p = (async () => {
        const known = await flusher.ledger.balance(tenantId).catch((error: unknown) => {
          if (this.#failedLoads.size >= 10_000) for (const [t, f] of this.#failedLoads) if (Date.now() >= f.until) this.#failedLoads.delete(t);
          if (this.#failedLoads.size < 10_000) this.#failedLoads.set(tenantId, { until: Date.now() + LOAD_RETRY_MS, error });
          throw error;
        });
        if (known !== null && (typeof known !== "number" || !Number.isSafeInteger(known))) throw new TypeError("RedisCreditStore: `ledger.balance` must answer an integer or null");
        const seed = await this.#conn.script(LEDGER_SEED_SCRIPT, [this.#keys.credits(tenantId), this.#keys.ledgerQueue(tenantId), this.#keys.ledgerOpened(tenantId)], [known ?? grant, known === null ? "1" : "0", tenantId]);
        flusher.appended(tenantId, seed.queued);
      })().finally(() => this.#loading.delete(tenantId));
      this.#loading.set(tenantId, p);
    }
    return p;
  }

  /** Runs a ledger-mode script; when it finds the balance unknown, loads it and runs it again. */
  async #withBalance<T>(tenantId: string, grant: number, run: () => Promise<LedgerReply<T>>): Promise<T & { readonly queued: number }> {
    for (let i = 0; i <= MAX_LOADS; i++) {
      const reply = await run();
      if (!reply.unknown) {
        this.ledgerFlusher!.appended(tenantId, reply.queued);
        return reply;
      }
      if (i < MAX_LOADS) await this.load(tenantId, grant);
    }
    throw new Error("RedisCreditStore: the balance was lost again after each load");
  }

  async usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    if (typeof sinceMs !== "number" || !Number.isFinite(sinceMs)) throw new TypeError("RedisCreditStore.usage: `sinceMs` must be a finite number of milliseconds");
    // In front of a ledger, usage is the ledger's (Redis counts none, and may forget).
    if (this.ledgerFlusher) {
      // What this tenant has queued (on any instance) is flushed first: a caller reads its own charges.
      if (!(await this.ledgerFlusher.flushTenant(tenantId))) {
        // A backlog, or another flusher held the queue: told, and the ledger's usage answered as it is.
        this.#onError(new Error("RedisCreditStore.usage: the tenant's ledger queue could not be flushed first; usage may miss its latest calls"), "usage");
      }
      return this.ledgerFlusher.ledger.usage(tenantId, sinceMs);
    }
    // The hours that can hold rows, on this process's estimate of the server's clock, with an
    // hour to spare at the top; the script keeps only those of its own clock.
    const now = await this.#conn.serverNow("usage");
    const first = Math.max(hourStart(sinceMs), hourStart(now - this.#retentionMs) - HOUR_MS);
    const last = hourStart(now) + HOUR_MS;
    if (first > last) return [];
    const keys: string[] = [];
    const args: number[] = [];
    for (let h = first; h <= last; h += HOUR_MS) {
      keys.push(this.#keys.usage(tenantId, h));
      args.push(h);
    }
    args.push(hourStart(sinceMs), this.#retentionMs);
    const hours = await this.#conn.script(USAGE_SCRIPT, keys, args);
    const rows: UsageRow[] = [];
    for (const hash of hours) {
      const hour = Number(hash[0]);
      const caps = new Map<string, { calls: number; credits: number }>();
      for (let j = 1; j + 1 < hash.length; j += 2) {
        const field = hash[j]!;
        const capability = field.slice(2);
        let row = caps.get(capability);
        if (!row) caps.set(capability, (row = { calls: 0, credits: 0 }));
        if (field.startsWith("c:")) row.calls = Number(hash[j + 1]);
        else if (field.startsWith("k:")) row.credits = Number(hash[j + 1]);
      }
      for (const [capability, { calls, credits }] of caps) rows.push({ hour, capability, calls, credits });
    }
    return rows.sort(compareUsageRows);
  }

  /** @internal The admission's failure path: `unavailable` (open), or rethrow (closed). */
  [kFallback](error: unknown): AdmissionCredits {
    this.#onError(error, "charge");
    if (this.#failure === "closed") throw error;
    return { outcome: "unavailable", error };
  }

  /** @internal */
  get [kInternals](): { conn: Connection; keys: KeyLayout; retentionMs: number; failure: FailureMode; ledger: LedgerFlusher | undefined } {
    return { conn: this.#conn, keys: this.#keys, retentionMs: this.#retentionMs, failure: this.#failure, ledger: this.ledgerFlusher };
  }
}

/** Throws a TypeError unless `v` is a usable usage retention (integer ms, 1 ms to 366 days). */
export function checkRetention(factory: string, name: string, v: unknown): number {
  if (v === undefined) return USAGE_RETENTION_MS;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > MAX_RETENTION_MS) {
    throw new TypeError(`${factory}: \`${name}\` must be an integer number of milliseconds from 1 to ${MAX_RETENTION_MS} (366 days)`);
  }
  return v;
}

/** A reservation id: a non-empty string of at most 200 characters without a TAB (the ledger entry's id; the queue separates fields by TAB). */
export function checkReservation(where: string, v: unknown): void {
  if (typeof v !== "string" || v === "" || v.length > 200 || v.includes("\t")) throw new TypeError(`${where}: \`reservation\` must be a non-empty string of at most 200 characters, without a TAB`);
}

function checkCapability(where: string, v: unknown): void {
  if (typeof v !== "string" || v === "") throw new TypeError(`${where}: \`capability\` must be a non-empty string`);
}

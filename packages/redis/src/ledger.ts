import { randomUUID } from "node:crypto";
import type { CreditLedger, LedgerEntry, LedgerEntryKind } from "@alloovium/core/store-kit";
import type { Connection } from "./connection";
import type { KeyLayout } from "./keys";
import { defineScript, luaFragment } from "./script";

/**
 * Redis in front of a durable `CreditLedger` (PostgreSQL): the credit scripts append every
 * grant, charge, refund and top-up to the tenant's ledger queue in the same script that changes
 * the balance, and a `LedgerFlusher` (any instance, in the background) moves the queues into the
 * ledger, at least once; the ledger records each entry once (by its id).
 *
 * The queue is one Redis list per tenant (`{tenant}:lq`), so it shares the tenant's hash tag and
 * Cluster slot with the balance and the admission's keys: the admission script appends to it
 * without a cross-slot key. The flusher finds the queues through `lq:pending`, a set of tenant
 * ids outside any tenant's slot: a script cannot write it on Cluster, so the caller adds the
 * tenant after a script that made its queue non-empty (the script answers the queue's length;
 * only the empty -> one transition costs that second command). A flusher that drains a queue
 * removes the tenant, then looks at the queue again and puts it back if an entry came in
 * between. A periodic `SCAN` for queues catches one whose `SADD` was lost (Redis failed between
 * the two commands).
 */

/**
 * `ledger_push(queue, kind, ref, amount, capability, at)`: appends one entry and answers the
 * queue's length after it. An entry is one string, `kind TAB amount TAB at TAB ref TAB capability`
 * (no table and no JSON encoding inside the request's script): `ref` is the reservation id of a
 * charge or refund, the id of a top-up, '' for a grant; `capability` ('' = none) comes last, so
 * it may hold any character; ids and reservations hold no TAB (checked by the callers).
 * `ledger_open(queue, opened, held, at)`: unless the marker `opened` is set, the balance `held`
 * was kept before the ledger was (Redis alone, then a ledger put behind it): queues the opening
 * grant `grant:<tenant>`, the balance before the entries already queued (so that the ledger's
 * sum equals it), and sets the marker; answers whether the queue was empty before (the caller
 * then answers a queue length of 1, so the tenant is marked pending). Once per tenant; the load
 * sets the marker itself.
 */
export const LEDGER_LUA = luaFragment("ledger", {
  defines: ["ledger_push", "ledger_open"],
  lua: `
local function ledger_push(queue, kind, ref, amount, capability, at)
  return redis.call('RPUSH', queue, kind .. '\t' .. string.format('%d', amount) .. '\t' .. string.format('%d', at) .. '\t' .. ref .. '\t' .. capability)
end
local function ledger_open(queue, opened, held, at)
  if redis.call('EXISTS', opened) == 1 then return false end
  local open = tonumber(held)
  local queued = redis.call('LRANGE', queue, 0, -1)
  for _, e in ipairs(queued) do
    open = open - tonumber(string.match(e, '^[^\t]*\t(-?%d+)\t'))
  end
  if open < 0 then open = 0 end
  ledger_push(queue, 'grant', '', open, '', at)
  redis.call('SET', opened, '1')
  return #queued == 0
end`,
});

/**
 * Seeds a balance Redis lacks (lost, or a tenant never seen): `SET NX`, so concurrent loads set
 * it once; only the one that set it appends the grant entry when the ledger had none (a grant of
 * 0 too: the ledger opens a tenant by its grant), and sets the opened marker.
 * KEYS: balance, ledger queue, opened marker. ARGV: the balance to set, '1' when it is the grant
 * (then the entry `grant:<tenant>` is appended), the tenant id.
 * Returns { 1 set | 0 already there, queue length after }.
 */
export const LEDGER_SEED_SCRIPT = defineScript<[balance: string, queue: string, opened: string], [balance: number, isGrant: "1" | "0", tenantId: string], { readonly set: boolean; readonly queued: number }>({
  name: "ledger-seed",
  keys: ["credit balance", "ledger queue", "opened marker"],
  args: ["balance", "isGrant", "tenantId"],
  uses: [LEDGER_LUA],
  lua: `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {0, 0} end
redis.call('SET', KEYS[3], '1')
local n = 0
if ARGV[2] == '1' then
  local t = redis.call('TIME')
  n = ledger_push(KEYS[2], 'grant', '', tonumber(ARGV[1]), '', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
return {1, n}
`,
  decode: (r) => {
    const reply = r as [number, number];
    return { set: reply[0] === 1, queued: Number(reply[1]) };
  },
});

/**
 * A flusher takes a batch of a tenant's queue: unless another flusher holds the lease, takes it
 * (token, `leaseMs`) and answers up to `batch` entries from the head; else answers false.
 * KEYS: ledger queue, lease. ARGV: token, leaseMs, batch.
 */
export const LEDGER_TAKE_SCRIPT = defineScript<[queue: string, lease: string], [token: string, leaseMs: number, batch: number], readonly string[] | null>({
  name: "ledger-take",
  keys: ["ledger queue", "lease"],
  args: ["token", "leaseMs", "batch"],
  lua: `
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return false end
local entries = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if #entries == 0 then
  if holder then redis.call('DEL', KEYS[2]) end
  return entries
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return entries
`,
  decode: (r) => (r === null ? null : (r as string[])),
});

/**
 * After the ledger recorded a batch: removes it from the queue's head only if the head still is
 * that batch (its first and last entries in place; entries are unique, the queue only grows at
 * the tail and only a batch's recorder trims its head), so a flusher whose lease expired never
 * trims entries it did not record. Gives the lease back if it still holds it.
 * Then the balance is checked against the ledger: when this ack trimmed, still held the lease
 * (no other flusher appended since) and the ledger answered the tenant's balance after the
 * append, the Redis balance (if present) is set to that balance plus the entries still queued
 * (not in the ledger yet). So a balance Redis reloaded while a batch taken before the loss was
 * in flight, or one a failover to a lagging replica brought back, is brought back to the ledger's
 * at the next flush of the tenant. Skipped while more than `maxScan` entries are queued (a
 * backlog: a later batch's ack corrects it).
 * KEYS: ledger queue, lease, balance. ARGV: token, batch length, its first entry, its last entry,
 * the ledger's balance after the append ('' = not known), maxScan.
 * Returns { the queue's length after, 1 when the balance was set | 0 }.
 */
export const LEDGER_ACK_SCRIPT = defineScript<
  [queue: string, lease: string, balance: string],
  [token: string, count: number, first: string, last: string, ledgerBalance: number | "", maxScan: number],
  { readonly left: number; readonly corrected: boolean }
>({
  name: "ledger-ack",
  keys: ["ledger queue", "lease", "credit balance"],
  args: ["token", "count", "first", "last", "ledgerBalance", "maxScan"],
  lua: `
local n = tonumber(ARGV[2])
local trimmed = false
if redis.call('LINDEX', KEYS[1], 0) == ARGV[3] and redis.call('LINDEX', KEYS[1], n - 1) == ARGV[4] then
  redis.call('LTRIM', KEYS[1], n, -1)
  trimmed = true
end
local holds = redis.call('GET', KEYS[2]) == ARGV[1]
if holds then redis.call('DEL', KEYS[2]) end
local left = redis.call('LLEN', KEYS[1])
if not (trimmed and holds and ARGV[5] ~= '' and left <= tonumber(ARGV[6]) and redis.call('EXISTS', KEYS[3]) == 1) then return {left, 0} end
local b = tonumber(ARGV[5])
for _, e in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  b = b + tonumber(string.match(e, '^[^\t]*\t(-?%d+)\t'))
end
redis.call('SET', KEYS[3], string.format('%d', b))
return {left, 1}
`,
  decode: (r) => {
    const reply = r as [number, number];
    return { left: Number(reply[0]), corrected: reply[1] === 1 };
  },
});

/** Gives a lease back (after a failed append), if still held. KEYS: lease. ARGV: token. */
export const LEDGER_RELEASE_SCRIPT = defineScript<[lease: string], [token: string], boolean>({
  name: "ledger-release",
  keys: ["lease"],
  args: ["token"],
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`,
  decode: (r) => r === 1,
});

/**
 * Sets aside an entry the ledger keeps refusing: when the queue's head still is the prefix the
 * ledger recorded (`count` entries, ending with `last`; 0 = none) followed by the refused entry,
 * trims both and appends the refused entry to the dead list. Gives the lease back if held.
 * KEYS: ledger queue, lease, dead list. ARGV: token, count, last recorded ('' when 0), the refused entry.
 * Returns 1 when set aside, 0 when the head had moved.
 */
export const LEDGER_DEAD_SCRIPT = defineScript<[queue: string, lease: string, dead: string], [token: string, count: number, last: string, refused: string], boolean>({
  name: "ledger-dead",
  keys: ["ledger queue", "lease", "dead list"],
  args: ["token", "count", "last", "refused"],
  lua: `
local n = tonumber(ARGV[2])
local ok = redis.call('LINDEX', KEYS[1], n) == ARGV[4] and (n == 0 or redis.call('LINDEX', KEYS[1], n - 1) == ARGV[3])
if ok then
  redis.call('LTRIM', KEYS[1], n + 1, -1)
  redis.call('RPUSH', KEYS[3], ARGV[4])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return ok and 1 or 0
`,
  decode: (r) => r === 1,
});

/** How many flush intervals a drained tenant stays in the pending set. */
const KEEP_MARKED_ROUNDS = 10;

const KINDS: ReadonlySet<string> = new Set(["grant", "charge", "refund", "topup"]);

/** A queued string that is not an entry (it can never be recorded). */
class MalformedEntry extends Error {}

/** One queued entry (the string `ledger_push` wrote) as a `LedgerEntry` of `tenantId`. */
export function decodeEntry(tenantId: string, raw: string): LedgerEntry {
  const t1 = raw.indexOf("\t");
  const t2 = raw.indexOf("\t", t1 + 1);
  const t3 = raw.indexOf("\t", t2 + 1);
  const t4 = raw.indexOf("\t", t3 + 1);
  const kind = raw.slice(0, t1);
  const amount = Number(raw.slice(t1 + 1, t2));
  const at = Number(raw.slice(t2 + 1, t3));
  if (t4 < 0 || !KINDS.has(kind) || !Number.isSafeInteger(amount) || !Number.isSafeInteger(at)) throw new MalformedEntry("ledger queue: malformed entry");
  const ref = raw.slice(t3 + 1, t4);
  const cap = raw.slice(t4 + 1);
  const capability = cap === "" ? null : cap;
  switch (kind as LedgerEntryKind) {
    case "charge":
      return { id: ref, tenantId, kind: "charge", amount: amount === 0 ? 0 : amount, capability, reservation: ref, at };
    case "refund":
      return { id: `refund:${ref}`, tenantId, kind: "refund", amount, capability, reservation: ref, at };
    case "grant":
      return { id: `grant:${tenantId}`, tenantId, kind: "grant", amount, capability: null, reservation: null, at };
    case "topup":
      return { id: ref, tenantId, kind: "topup", amount, capability: null, reservation: null, at };
  }
}

/** Options of the ledger flush (`createRedisStores({ ledger, ledgerFlush })`). */
export interface LedgerFlushOptions {
  /**
   * The flush bound: an entry is in the ledger at most about this long after its script ran
   * (while the ledger is up). The flusher looks at the queues eight times per interval.
   * @default 1000
   */
  readonly intervalMs?: number;
  /** Most entries taken from one tenant's queue per batch (one `ledger.append` takes the batches of up to 100 tenants). @default 5000 */
  readonly batchSize?: number;
  /**
   * How long a flusher holds a tenant's queue while it appends a batch; a flusher that died
   * holding it delays that tenant's flush by at most this.
   * @default 10000
   */
  readonly leaseMs?: number;
  /**
   * Most entries in one `ledger.append` (one statement): the batches of several tenants are
   * grouped up to it; one tenant's batch is never split (a batch larger than this goes alone).
   * @default 10000
   */
  readonly maxAppend?: number;
  /**
   * Most entries one tenant's queue may hold: a charge that finds it full (the ledger has been
   * down a while) is not taken, and the admission's credits answer `unavailable` (the credit
   * store's `failure` mode decides: let through uncharged, or 503), so Redis memory stays bounded
   * (an entry is about 90 bytes). Refunds and top-ups are always queued. 0 = no limit.
   * @default 100000
   */
  readonly maxQueued?: number;
  /**
   * Start the background flush when the stores are created. Off: call `stores.ledgerFlusher.start()`
   * (or `flush()`) yourself, e.g. in a dedicated worker.
   * @default true
   */
  readonly autoStart?: boolean;
}

/** Checks `ledgerFlush`, answering every option with its default. */
export function checkFlushOptions(factory: string, o: LedgerFlushOptions | undefined): Required<LedgerFlushOptions> {
  if (o !== undefined && (typeof o !== "object" || o === null)) throw new TypeError(`${factory}: \`ledgerFlush\` must be an object`);
  const int = (name: keyof LedgerFlushOptions, v: unknown, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) throw new TypeError(`${factory}: \`ledgerFlush.${name}\` must be an integer from ${min} to ${max}`);
    return v;
  };
  const autoStart = o?.autoStart ?? true;
  if (typeof autoStart !== "boolean") throw new TypeError(`${factory}: \`ledgerFlush.autoStart\` must be a boolean`);
  return {
    intervalMs: int("intervalMs", o?.intervalMs, 1000, 10, 3_600_000),
    batchSize: int("batchSize", o?.batchSize, 5000, 1, 100_000),
    leaseMs: int("leaseMs", o?.leaseMs, 10_000, 100, 3_600_000),
    maxQueued: int("maxQueued", o?.maxQueued, 100_000, 0, 100_000_000),
    maxAppend: int("maxAppend", o?.maxAppend, 10_000, 1, 1_000_000),
    autoStart,
  };
}

/** Checks that `v` has the three methods of a `CreditLedger`. */
export function checkLedger(factory: string, v: unknown): CreditLedger | undefined {
  if (v === undefined) return undefined;
  const l = v as Partial<CreditLedger> | null;
  if (!l || typeof l.append !== "function" || typeof l.balance !== "function" || typeof l.usage !== "function") {
    throw new TypeError(`${factory}: \`ledger\` must be a CreditLedger (append, balance, usage)`);
  }
  return l as CreditLedger;
}

interface SetCommands {
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, member: string): Promise<number>;
  smembers(key: string): Promise<string[]>;
  llen(key: string): Promise<number>;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  nodes?: (role: string) => SetCommands[];
}

/** What a tenant's scripts need to tell after they appended to its queue. */
export interface LedgerQueues {
  /** `queued`: the queue's length after the script; 1 = it was empty, so the flusher is told. */
  appended(tenantId: string, queued: number): void;
}

/** The pending mark is sent again every this many entries (a mark lost with an instance or a reply is restored). */
const REMARK_EVERY = 64;
/** How often the sweep looks for queues whose mark was lost (its own timer, never inside a round). */
const SWEEP_MS = 60_000;
/** Rounds in a row a tenant's batch may be refused by the ledger before the refused entry is set aside. */
const REFUSALS_BEFORE_SET_ASIDE = 3;
/** Most entries the ack reads to check the balance against the ledger. */
const MAX_SCAN = 1000;

/**
 * Moves the ledger queues into the `CreditLedger`, in the background, at least once. Several
 * instances may run one each: a tenant's queue is taken under a lease, so each batch is appended
 * by one flusher at a time (a second append after an expired lease is harmless: the ledger skips
 * ids it has). When the ledger fails, the entries stay queued and the next round retries them.
 * After each recorded batch the tenant's Redis balance is checked against the ledger's (see
 * `LEDGER_ACK_SCRIPT`); an entry the ledger refuses round after round is set aside
 * (`{tenant}:lq:dead`, told to `onError`) so that the tenant's later entries are recorded.
 */
export class LedgerFlusher implements LedgerQueues {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #ledger: CreditLedger;
  readonly #o: Required<LedgerFlushOptions>;
  readonly #onError: (error: unknown, operation: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #sweeping: Promise<number> | undefined;
  #stopped = true;
  /** Rounds failed in a row (the back-off). */
  #failures = 0;
  /** Tenants found drained, since when (ms): unmarked once drained for `KEEP_MARKED_ROUNDS` intervals. */
  readonly #drained = new Map<string, number>();
  /** Tenants whose pending mark could not be written (or that the sweep found): marked and flushed by the next round. */
  readonly #unmarked = new Set<string>();
  /** Rounds in a row each tenant's batch was refused by the ledger. */
  readonly #refusals = new Map<string, number>();

  constructor(conn: Connection, keys: KeyLayout, ledger: CreditLedger, options: Required<LedgerFlushOptions>, onError: (error: unknown, operation: string) => void) {
    this.#conn = conn;
    this.#keys = keys;
    this.#ledger = ledger;
    this.#o = options;
    this.#onError = onError;
  }

  /** The ledger the queues are flushed to. */
  get ledger(): CreditLedger {
    return this.#ledger;
  }

  /** @internal The most entries a tenant's queue may hold (0 = no limit). */
  get maxQueued(): number {
    return this.#o.maxQueued;
  }

  /**
   * @internal Told by the credit scripts' callers: marks the tenant pending when its queue was
   * empty, and again every `REMARK_EVERY` entries; a mark that could not be written is kept here
   * for the next round.
   */
  appended(tenantId: string, queued: number): void {
    if (queued <= 0 || queued % REMARK_EVERY !== 1) return;
    const c = this.#conn.client as unknown as SetCommands;
    this.#conn.command("ledger-pending", () => c.sadd(this.#keys.ledgerPending, tenantId)).catch((e: unknown) => {
      this.#unmarked.add(tenantId);
      this.#onError(e, "ledger-flush");
    });
  }

  /** Starts the background flush and the sweep (timers that do not keep the process alive). Idempotent. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
    this.#scheduleSweep(0);
  }

  /**
   * Stops the background flush; resolves after the round in progress and one last round (what
   * was queued before the call is flushed, if the ledger is up). Idempotent.
   */
  async stop(): Promise<void> {
    const wasRunning = !this.#stopped;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#sweepTimer) clearTimeout(this.#sweepTimer);
    this.#timer = undefined;
    this.#sweepTimer = undefined;
    if (!wasRunning) return;
    await this.#running?.catch(() => 0);
    await this.#sweeping?.catch(() => 0);
    await this.flush().catch((e: unknown) => this.#onError(e, "ledger-flush"));
  }

  /**
   * One round now: every pending tenant's queue, batch after batch, until empty. Resolves to the
   * number of entries the ledger was given; rejects when the ledger or Redis failed (what was
   * not recorded stays queued). Rounds never overlap: a call during a round waits for it and
   * runs another.
   */
  flush(): Promise<number> {
    const prev = this.#running ?? Promise.resolve(0);
    const next = prev.catch(() => 0).then(() => this.#round());
    this.#running = next;
    return next;
  }

  /**
   * Looks for queues whose pending mark was lost (`SCAN` of each master, a page at a time) and
   * hands them to the next round. Runs on its own timer (at start, then every minute), never
   * inside a round. Resolves to the number of queues found.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  /**
   * Flushes one tenant's queue now (before its usage is read from the ledger): at most five
   * batches, and a batch another flusher holds is waited for a little. Resolves to true when the
   * queue was emptied, false when it was not (a backlog, or another flusher held it); rejects
   * when the ledger or Redis failed.
   */
  async flushTenant(tenantId: string): Promise<boolean> {
    let appends = 0;
    for (let i = 0; i < 50 && appends < 5; i++) {
      const more: string[] = [];
      const held = await this.#batch([tenantId], more, true);
      if (held === undefined) await new Promise((r) => setTimeout(r, 20)); // another flusher has it
      else if (more.length === 0) return true;
      else appends++;
    }
    return false;
  }

  /**
   * Rounds start every eighth of the interval; one that took longer is followed at once (a
   * backlog drains without a pause). After a round that recorded nothing because the ledger
   * failed, the next waits an interval, doubling up to eight (a ledger that is down is not asked
   * eight times a second by every instance).
   */
  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const started = Date.now();
      this.flush().then(
        () => {
          this.#failures = 0;
          this.#schedule(Math.max(1, Math.floor(this.#o.intervalMs / 8) - (Date.now() - started)));
        },
        (e: unknown) => {
          this.#onError(e, "ledger-flush");
          this.#failures++;
          this.#schedule(this.#o.intervalMs * 2 ** Math.min(3, this.#failures - 1));
        },
      );
    }, ms);
    this.#timer.unref();
  }

  #scheduleSweep(ms: number): void {
    if (this.#stopped) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.sweep()
        .catch((e: unknown) => void this.#onError(e, "ledger-flush"))
        .finally(() => this.#scheduleSweep(SWEEP_MS));
    }, ms);
    this.#sweepTimer.unref();
  }

  async #round(): Promise<number> {
    const c = this.#conn.client as unknown as SetCommands;
    // Marks that could not be written (or queues the sweep found): written now, flushed in this round.
    const retry = [...this.#unmarked];
    if (retry.length > 0) {
      await this.#conn.command("ledger-pending", () => c.sadd(this.#keys.ledgerPending, ...retry));
      for (const t of retry) this.#unmarked.delete(t);
    }
    const marked = await this.#conn.command("ledger-pending", () => c.smembers(this.#keys.ledgerPending));
    let tenants = [...new Set([...marked, ...retry])];
    // Marks this instance saw drained but another unmarked: forgotten after a while.
    for (const [t, since] of this.#drained) if (Date.now() - since > 2 * KEEP_MARKED_ROUNDS * this.#o.intervalMs) this.#drained.delete(t);
    let total = 0;
    while (tenants.length > 0) {
      const more: string[] = [];
      for (let i = 0; i < tenants.length; i += 100) {
        const chunk = tenants.slice(i, i + 100);
        total += (await this.#batch(chunk, more)) ?? 0;
      }
      tenants = more;
    }
    return total;
  }

  /**
   * Takes one batch of each tenant, appends them (in groups of at most `maxAppend` entries),
   * acks them. Pushes onto `more` the tenants with a backlog (a full batch taken and entries
   * left; with `untilEmpty`, any entries left). Resolves to the entries appended, or undefined
   * when another flusher held every tenant asked for.
   */
  async #batch(tenants: readonly string[], more: string[], untilEmpty = false): Promise<number | undefined> {
    const token = randomUUID(); // per batch: a round and a `flushTenant` of this instance exclude each other too
    const taken = await Promise.all(
      tenants.map(async (tenantId) => {
        const raw = await this.#conn.script(LEDGER_TAKE_SCRIPT, [this.#keys.ledgerQueue(tenantId), this.#keys.ledgerLease(tenantId)], [token, this.#o.leaseMs, this.#o.batchSize]);
        return { tenantId, raw };
      }),
    );
    if (taken.every((t) => t.raw === null)) return undefined;
    const held = taken.filter((t): t is { tenantId: string; raw: readonly string[] } => t.raw !== null && t.raw.length > 0);
    const failed = new Map<string, unknown>();
    const balances = new Map<string, number>();
    const limit = this.#o.maxAppend;
    for (let i = 0; i < held.length; ) {
      const group: typeof held = [];
      let n = 0;
      while (i < held.length && (group.length === 0 || n + held[i]!.raw.length <= limit)) {
        n += held[i]!.raw.length;
        group.push(held[i++]!);
      }
      await this.#append(group, failed, balances);
    }
    if (failed.size > 0) {
      const first = failed.values().next().value;
      const alone = failed.size === held.length;
      let setAside = 0;
      await Promise.all(
        [...failed].map(async ([t, error]) => {
          // The entry's fault, not the ledger's: others were recorded, or it is refused as invalid.
          const refused = !alone || error instanceof TypeError || error instanceof RangeError || error instanceof MalformedEntry;
          const n = refused ? (this.#refusals.get(t) ?? 0) + 1 : 0;
          if (n >= REFUSALS_BEFORE_SET_ASIDE) {
            this.#refusals.delete(t);
            if (await this.#setAside(t, held.find((h) => h.tenantId === t)!.raw, token, error).catch(() => false)) {
              setAside++;
              more.push(t);
              return;
            }
          } else if (n > 0) this.#refusals.set(t, n);
          await this.#conn.script(LEDGER_RELEASE_SCRIPT, [this.#keys.ledgerLease(t)], [token]).catch(() => false);
        }),
      );
      // Nothing recorded (the ledger is down): the round fails. Some recorded: the others go on.
      if (alone && setAside === 0) throw first;
      this.#onError(first, "ledger-flush");
    }
    const c = this.#conn.client as unknown as SetCommands;
    await Promise.all(
      taken.map(async (t) => {
        if (t.raw === null || failed.has(t.tenantId)) return; // another flusher has it, or not recorded
        this.#refusals.delete(t.tenantId);
        const left =
          t.raw.length === 0
            ? 0
            : (
                await this.#conn.script(
                  LEDGER_ACK_SCRIPT,
                  [this.#keys.ledgerQueue(t.tenantId), this.#keys.ledgerLease(t.tenantId), this.#keys.credits(t.tenantId)],
                  [token, t.raw.length, t.raw[0]!, t.raw[t.raw.length - 1]!, balances.get(t.tenantId) ?? "", MAX_SCAN],
                )
              ).left;
        if (left > 0) {
          this.#drained.delete(t.tenantId);
          // Taken again in this round only for a backlog (a full batch): entries that came in
          // during this batch wait for the next round, so a busy tenant is not flushed in a loop
          // of tiny batches beside the requests.
          if (untilEmpty || t.raw.length >= this.#o.batchSize) more.push(t.tenantId);
          return;
        }
        // Drained. A tenant still charging is kept marked for a while (an empty take is one cheap
        // command; unmarking and marking again would be three, every round).
        const since = this.#drained.get(t.tenantId);
        if (t.raw.length > 0 || since === undefined) return void this.#drained.set(t.tenantId, Date.now());
        if (Date.now() - since < KEEP_MARKED_ROUNDS * this.#o.intervalMs) return;
        this.#drained.delete(t.tenantId);
        // Unmark, then look again (an entry pushed in between marked nothing, as the queue was not empty).
        await this.#conn.command("ledger-pending", () => c.srem(this.#keys.ledgerPending, t.tenantId));
        if ((await this.#conn.command("ledger-pending", () => c.llen(this.#keys.ledgerQueue(t.tenantId)))) > 0) {
          await this.#conn.command("ledger-pending", () => c.sadd(this.#keys.ledgerPending, t.tenantId));
        }
      }),
    );
    return held.reduce((n, t) => (failed.has(t.tenantId) ? n : n + t.raw.length), 0);
  }

  /**
   * Appends the tenants' batches in one `ledger.append`. When that fails and it held several
   * tenants, each tenant's batch is tried alone, so one tenant's entry the ledger refuses (or one
   * that does not decode) holds back that tenant only. Adds the tenants not recorded to `failed`,
   * with their errors, and the balances the ledger answered for those recorded to `balances`
   * (read with `ledger.balance` when `append` answers none).
   */
  async #append(held: readonly { tenantId: string; raw: readonly string[] }[], failed: Map<string, unknown>, balances: Map<string, number>): Promise<void> {
    const decoded: { tenantId: string; entries: LedgerEntry[] }[] = [];
    for (const t of held) {
      try {
        decoded.push({ tenantId: t.tenantId, entries: t.raw.map((r) => decodeEntry(t.tenantId, r)) });
      } catch (error) {
        failed.set(t.tenantId, error);
      }
    }
    if (decoded.length === 0) return;
    const recorded: { tenantId: string; answer: unknown }[] = [];
    try {
      const answer: unknown = await this.#ledger.append(decoded.flatMap((d) => d.entries));
      for (const d of decoded) recorded.push({ tenantId: d.tenantId, answer });
    } catch (error) {
      if (decoded.length === 1) return void failed.set(decoded[0]!.tenantId, error);
      const alone = await Promise.allSettled(decoded.map((d) => this.#ledger.append(d.entries)));
      alone.forEach((r, i) => {
        if (r.status === "rejected") failed.set(decoded[i]!.tenantId, r.reason);
        else recorded.push({ tenantId: decoded[i]!.tenantId, answer: r.value });
      });
    }
    await Promise.all(
      recorded.map(async ({ tenantId, answer }) => {
        let b: unknown;
        if (answer instanceof Map) b = answer.get(tenantId);
        else b = await this.#ledger.balance(tenantId).catch(() => undefined);
        if (typeof b === "number" && Number.isSafeInteger(b)) balances.set(tenantId, b);
      }),
    );
  }

  /**
   * Finds the first entry of a tenant's batch the ledger refuses (the longest prefix it records,
   * by halving) and sets it aside in `{tenant}:lq:dead`, trimming the recorded prefix with it.
   * Resolves to whether it did.
   */
  async #setAside(tenantId: string, raw: readonly string[], token: string, error: unknown): Promise<boolean> {
    const entries: LedgerEntry[] = [];
    for (const r of raw) {
      try {
        entries.push(decodeEntry(tenantId, r));
      } catch {
        break;
      }
    }
    const records = async (n: number): Promise<boolean> => {
      if (n === 0) return true;
      try {
        await this.#ledger.append(entries.slice(0, n));
        return true;
      } catch {
        return false;
      }
    };
    // Invariant: the prefix of `lo` entries is recorded, the prefix of `hi` is refused.
    let lo = 0;
    let hi = entries.length < raw.length ? entries.length + 1 : raw.length;
    if (entries.length < raw.length) {
      if (await records(entries.length)) lo = entries.length;
      else hi = entries.length;
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await records(mid)) lo = mid;
      else hi = mid;
    }
    const done = await this.#conn.script(
      LEDGER_DEAD_SCRIPT,
      [this.#keys.ledgerQueue(tenantId), this.#keys.ledgerLease(tenantId), this.#keys.ledgerDead(tenantId)],
      [token, lo, lo > 0 ? raw[lo - 1]! : "", raw[lo]!],
    );
    if (done) {
      this.#onError(
        new Error(`ledger flush: an entry the ledger refused ${REFUSALS_BEFORE_SET_ASIDE} times was set aside in ${this.#keys.ledgerDead(tenantId)}`, { cause: error }),
        "ledger-flush",
      );
    }
    return done;
  }

  /** Every tenant with a ledger queue, by `SCAN` (each master of a Cluster), handed to the next round. */
  async #sweep(): Promise<number> {
    const client = this.#conn.client as unknown as SetCommands;
    const nodes = typeof client.nodes === "function" ? client.nodes("master") : [client];
    const pattern = `${this.#keys.prefix.replace(/[*?[\]\\]/g, "\\$&")}:{*}:lq`;
    let found = 0;
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await this.#conn.command("ledger-sweep", () => node.scan(cursor, "MATCH", pattern, "COUNT", 1000, "TYPE", "list"));
        cursor = next;
        for (const k of keys) {
          const t = this.#keys.tenantOfLedgerQueue(k);
          if (t !== null) {
            this.#unmarked.add(t);
            found++;
          }
        }
      } while (cursor !== "0");
    }
    return found;
  }
}

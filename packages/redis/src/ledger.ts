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
 */
export const LEDGER_LUA = luaFragment("ledger", {
  defines: ["ledger_push"],
  lua: `
local function ledger_push(queue, kind, ref, amount, capability, at)
  return redis.call('RPUSH', queue, kind .. '\t' .. string.format('%d', amount) .. '\t' .. string.format('%d', at) .. '\t' .. ref .. '\t' .. capability)
end`,
});

/**
 * Seeds a balance Redis lacks (lost, or a tenant never seen): `SET NX`, so concurrent loads set
 * it once; only the one that set it appends the grant entry when the ledger had none.
 * KEYS: balance, ledger queue. ARGV: the balance to set, '1' when it is the grant (then the
 * entry `grant:<tenant>` is appended), the tenant id.
 * Returns { 1 set | 0 already there, queue length after }.
 */
export const LEDGER_SEED_SCRIPT = defineScript<[balance: string, queue: string], [balance: number, isGrant: "1" | "0", tenantId: string], { readonly set: boolean; readonly queued: number }>({
  name: "ledger-seed",
  keys: ["credit balance", "ledger queue"],
  args: ["balance", "isGrant", "tenantId"],
  uses: [LEDGER_LUA],
  lua: `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {0, 0} end
local n = 0
if ARGV[2] == '1' and tonumber(ARGV[1]) > 0 then
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
 * KEYS: ledger queue, lease. ARGV: token, batch length, its first entry, its last entry.
 * Returns the queue's length after.
 */
export const LEDGER_ACK_SCRIPT = defineScript<[queue: string, lease: string], [token: string, count: number, first: string, last: string], number>({
  name: "ledger-ack",
  keys: ["ledger queue", "lease"],
  args: ["token", "count", "first", "last"],
  lua: `
local n = tonumber(ARGV[2])
if redis.call('LINDEX', KEYS[1], 0) == ARGV[3] and redis.call('LINDEX', KEYS[1], n - 1) == ARGV[4] then
  redis.call('LTRIM', KEYS[1], n, -1)
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return redis.call('LLEN', KEYS[1])
`,
  decode: Number,
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

/** How many flush intervals a drained tenant stays in the pending set. */
const KEEP_MARKED_ROUNDS = 10;

const KINDS: ReadonlySet<string> = new Set(["grant", "charge", "refund", "topup"]);

/** One queued entry (the string `ledger_push` wrote) as a `LedgerEntry` of `tenantId`. */
export function decodeEntry(tenantId: string, raw: string): LedgerEntry {
  const t1 = raw.indexOf("\t");
  const t2 = raw.indexOf("\t", t1 + 1);
  const t3 = raw.indexOf("\t", t2 + 1);
  const t4 = raw.indexOf("\t", t3 + 1);
  const kind = raw.slice(0, t1);
  const amount = Number(raw.slice(t1 + 1, t2));
  const at = Number(raw.slice(t2 + 1, t3));
  if (t4 < 0 || !KINDS.has(kind) || !Number.isSafeInteger(amount) || !Number.isSafeInteger(at)) throw new Error("ledger queue: malformed entry");
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
  sadd(key: string, member: string): Promise<number>;
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

/**
 * Moves the ledger queues into the `CreditLedger`, in the background, at least once. Several
 * instances may run one each: a tenant's queue is taken under a lease, so each batch is appended
 * by one flusher at a time (a second append after an expired lease is harmless: the ledger skips
 * ids it has). When the ledger fails, the entries stay queued and the next round retries them.
 */
export class LedgerFlusher implements LedgerQueues {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #ledger: CreditLedger;
  readonly #o: Required<LedgerFlushOptions>;
  readonly #onError: (error: unknown, operation: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = true;
  #lastSweep = 0;
  /** Rounds failed in a row (the back-off). */
  #failures = 0;
  /** Tenants found drained, since when (ms): unmarked once drained for `KEEP_MARKED_ROUNDS` intervals. */
  readonly #drained = new Map<string, number>();

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

  /** @internal Told by the credit scripts' callers: marks the tenant pending when its queue was empty. */
  appended(tenantId: string, queued: number): void {
    if (queued !== 1) return;
    const c = this.#conn.client as unknown as SetCommands;
    this.#conn.command("ledger-pending", () => c.sadd(this.#keys.ledgerPending, tenantId)).catch((e: unknown) => this.#onError(e, "ledger-flush"));
  }

  /** Starts the background flush (a timer that does not keep the process alive). Idempotent. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#lastSweep = 0;
    this.#schedule(0);
  }

  /**
   * Stops the background flush; resolves after the round in progress and one last round (what
   * was queued before the call is flushed, if the ledger is up). Idempotent.
   */
  async stop(): Promise<void> {
    const wasRunning = !this.#stopped;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!wasRunning) return;
    await this.#running?.catch(() => 0);
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
   * Flushes one tenant's queue now (before its usage is read from the ledger). A batch another
   * flusher holds is waited for, a little; rejects when the ledger or Redis failed.
   */
  async flushTenant(tenantId: string): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const more: string[] = [];
      const held = await this.#batch([tenantId], more, true);
      if (held === undefined) await new Promise((r) => setTimeout(r, 20)); // another flusher has it
      else if (more.length === 0) return;
    }
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

  async #round(): Promise<number> {
    const c = this.#conn.client as unknown as SetCommands;
    let tenants = await this.#conn.command("ledger-pending", () => c.smembers(this.#keys.ledgerPending));
    // Queues whose pending mark was lost: looked for at start and about once a minute.
    if (Date.now() - this.#lastSweep >= 60_000) {
      this.#lastSweep = Date.now();
      const found = await this.#sweep().catch((e: unknown) => {
        this.#onError(e, "ledger-flush");
        return [] as string[];
      });
      tenants = [...new Set([...tenants, ...found])];
    }
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
   * Takes one batch of each tenant, appends them all in one `ledger.append`, acks them. Pushes
   * onto `more` the tenants with a backlog (a full batch taken and entries left; with
   * `untilEmpty`, any entries left). Resolves to the entries appended, or undefined
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
    const failed = await this.#append(held);
    if (failed.size > 0) {
      await Promise.all([...failed.keys()].map((t) => this.#conn.script(LEDGER_RELEASE_SCRIPT, [this.#keys.ledgerLease(t)], [token]).catch(() => false)));
      const first = failed.values().next().value;
      // Nothing recorded (the ledger is down): the round fails. Some recorded: the others go on.
      if (failed.size === held.length) throw first;
      this.#onError(first, "ledger-flush");
    }
    const c = this.#conn.client as unknown as SetCommands;
    await Promise.all(
      taken.map(async (t) => {
        if (t.raw === null || failed.has(t.tenantId)) return; // another flusher has it, or not recorded
        const left =
          t.raw.length === 0
            ? 0
            : await this.#conn.script(LEDGER_ACK_SCRIPT, [this.#keys.ledgerQueue(t.tenantId), this.#keys.ledgerLease(t.tenantId)], [token, t.raw.length, t.raw[0]!, t.raw[t.raw.length - 1]!]);
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
   * that does not decode) holds back that tenant only. Resolves to the tenants not recorded, with
   * their errors.
   */
  async #append(held: readonly { tenantId: string; raw: readonly string[] }[]): Promise<Map<string, unknown>> {
    const failed = new Map<string, unknown>();
    const decoded: { tenantId: string; entries: LedgerEntry[] }[] = [];
    for (const t of held) {
      try {
        decoded.push({ tenantId: t.tenantId, entries: t.raw.map((r) => decodeEntry(t.tenantId, r)) });
      } catch (error) {
        failed.set(t.tenantId, error);
      }
    }
    if (decoded.length === 0) return failed;
    try {
      await this.#ledger.append(decoded.flatMap((d) => d.entries));
    } catch (error) {
      if (decoded.length === 1) return failed.set(decoded[0]!.tenantId, error);
      const alone = await Promise.allSettled(decoded.map((d) => this.#ledger.append(d.entries)));
      alone.forEach((r, i) => {
        if (r.status === "rejected") failed.set(decoded[i]!.tenantId, r.reason);
      });
    }
    return failed;
  }

  /** Every tenant with a ledger queue, by `SCAN` (each master of a Cluster). */
  async #sweep(): Promise<string[]> {
    const client = this.#conn.client as unknown as SetCommands;
    const nodes = typeof client.nodes === "function" ? client.nodes("master") : [client];
    const pattern = `${this.#keys.prefix.replace(/[*?[\]\\]/g, "\\$&")}:{*}:lq`;
    const found: string[] = [];
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await this.#conn.command("ledger-sweep", () => node.scan(cursor, "MATCH", pattern, "COUNT", 1000, "TYPE", "list"));
        cursor = next;
        for (const k of keys) {
          const t = this.#keys.tenantOfLedgerQueue(k);
          if (t !== null) found.push(t);
        }
      } while (cursor !== "0");
    }
    return found;
  }
}

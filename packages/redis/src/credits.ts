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
  type CreditRefund,
  type UsageRow,
} from "@alloovium/core/store-kit";
import { Connection } from "./connection";
import { kFallback, kInternals } from "./internal";
import { KeyLayout } from "./keys";
import { checkBase, checkFailure, type FailureMode, type RedisStoreBaseOptions } from "./options";
import { ADD_CREDITS_SCRIPT, CHARGE_SCRIPT, REFUND_SCRIPT, USAGE_SCRIPT } from "./scripts";

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

  constructor(options: RedisCreditStoreOptions) {
    const { prefix, timeoutMs } = checkBase("RedisCreditStore", options);
    this.#failure = checkFailure("RedisCreditStore", "failure", options.failure, "open");
    this.#retentionMs = checkRetention("RedisCreditStore", "usageRetentionMs", options.usageRetentionMs);
    this.#conn = new Connection(options.client, timeoutMs);
    this.#keys = new KeyLayout(prefix);
    this.#onError = options.onError ?? (() => {});
  }

  async charge(c: CreditCharge): Promise<ChargeResult> {
    const credits = checkCredits("RedisCreditStore.charge", "credits", c.credits, 0);
    const grant = checkCredits("RedisCreditStore.charge", "grant", c.grant, 0);
    checkCapability("RedisCreditStore.charge", c.capability);
    const reply = await this.#conn.decision(
      CHARGE_SCRIPT,
      [this.#keys.credits(c.tenantId), this.#keys.usagePrefix(c.tenantId)],
      [credits, grant, c.capability, 0, this.#retentionMs],
    );
    const allowed = reply[0] === 1;
    return { allowed, balance: Number(reply[1]), charged: allowed ? credits : 0, hour: Number(reply[3]) };
  }

  async refund(r: CreditRefund): Promise<number> {
    const credits = checkCredits("RedisCreditStore.refund", "credits", r.credits, 0);
    const grant = checkCredits("RedisCreditStore.refund", "grant", r.grant, 0);
    checkCapability("RedisCreditStore.refund", r.capability);
    const hour = checkCredits("RedisCreditStore.refund", "hour", r.hour, 0);
    const reply = await this.#conn.script(REFUND_SCRIPT, [this.#keys.credits(r.tenantId), this.#keys.usage(r.tenantId, hour)], [credits, grant, r.capability]);
    return Number(reply);
  }

  async balance(tenantId: string, grant: number): Promise<number> {
    checkCredits("RedisCreditStore.balance", "grant", grant, 0);
    const c = this.#conn.client as unknown as Commands;
    const v = await this.#conn.command("balance", () => c.get(this.#keys.credits(tenantId)));
    return v === null ? grant : Number(v);
  }

  async add(tenantId: string, credits: number, grant: number): Promise<number> {
    checkCredits("RedisCreditStore.add", "credits", credits, 1);
    checkCredits("RedisCreditStore.add", "grant", grant, 0);
    return Number(await this.#conn.script(ADD_CREDITS_SCRIPT, [this.#keys.credits(tenantId)], [credits, grant]));
  }

  async usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    if (typeof sinceMs !== "number" || !Number.isFinite(sinceMs)) throw new TypeError("RedisCreditStore.usage: `sinceMs` must be a finite number of milliseconds");
    // The hours that can hold rows, on this process's estimate of the server's clock, with an
    // hour to spare at the top; the script keeps only those of its own clock.
    const now = await this.#conn.serverNow("usage");
    const first = Math.max(hourStart(sinceMs), hourStart(now - this.#retentionMs) - HOUR_MS);
    const last = hourStart(now) + HOUR_MS;
    if (first > last) return [];
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (let h = first; h <= last; h += HOUR_MS) {
      keys.push(this.#keys.usage(tenantId, h));
      args.push(h);
    }
    args.push(hourStart(sinceMs), this.#retentionMs);
    const reply = (await this.#conn.script(USAGE_SCRIPT, keys, args)) as unknown[];
    const rows: UsageRow[] = [];
    for (let i = 1; i < reply.length; i++) {
      const hash = reply[i] as string[];
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
  get [kInternals](): { conn: Connection; keys: KeyLayout; retentionMs: number; failure: FailureMode } {
    return { conn: this.#conn, keys: this.#keys, retentionMs: this.#retentionMs, failure: this.#failure };
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

function checkCapability(where: string, v: unknown): void {
  if (typeof v !== "string" || v === "") throw new TypeError(`${where}: \`capability\` must be a non-empty string`);
}

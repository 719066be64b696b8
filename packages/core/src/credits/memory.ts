import { systemClock, type Clock } from "../clock";
import {
  USAGE_RETENTION_MS,
  checkCredits,
  hourStart,
  type ChargeResult,
  type CreditCharge,
  type CreditRefund,
  type CreditStore,
  type UsageRow,
} from "./store";

interface Tenant {
  balance: number | undefined;
  /** hour -> capability -> [calls, credits] */
  readonly hours: Map<number, Map<string, [number, number]>>;
}

/**
 * A process-local `CreditStore` for tests, development and single-instance deployments.
 * @example
 * const credits = new MemoryCreditStore();
 * const policy = createPolicy({ ...options, stores: { keys, credits } });
 * await credits.add("tenant-1", 5_000, 100_000); // a top-up
 */
export class MemoryCreditStore implements CreditStore {
  readonly #tenants = new Map<string, Tenant>();
  readonly #clock: Clock;
  readonly #retentionMs: number;

  constructor(options: { readonly clock?: Clock; readonly retentionMs?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#retentionMs = options.retentionMs ?? USAGE_RETENTION_MS;
  }

  #tenant(id: string): Tenant {
    let t = this.#tenants.get(id);
    if (!t) this.#tenants.set(id, (t = { balance: undefined, hours: new Map() }));
    return t;
  }

  #count(t: Tenant, hour: number, capability: string, calls: number, credits: number): void {
    let h = t.hours.get(hour);
    if (!h) {
      t.hours.set(hour, (h = new Map()));
      const oldest = hourStart(this.#clock.now() - this.#retentionMs);
      for (const k of t.hours.keys()) if (k < oldest) t.hours.delete(k);
    }
    const row = h.get(capability);
    if (row) {
      row[0] += calls;
      row[1] += credits;
    } else h.set(capability, [calls, credits]);
  }

  async charge(c: CreditCharge): Promise<ChargeResult> {
    return this.chargeNow(c);
  }

  /** Synchronous form of `charge`, for callers on the hot path. */
  chargeNow(c: CreditCharge): ChargeResult {
    const credits = checkCredits("MemoryCreditStore.charge", "credits", c.credits, 0);
    const t = this.#tenant(c.tenantId);
    const balance = t.balance ?? checkCredits("MemoryCreditStore.charge", "grant", c.grant, 0);
    const hour = hourStart(this.#clock.now());
    if (balance < credits) return { allowed: false, balance, charged: 0, hour };
    t.balance = balance - credits;
    this.#count(t, hour, c.capability, 1, credits);
    return { allowed: true, balance: t.balance, charged: credits, hour };
  }

  async refund(r: CreditRefund): Promise<number> {
    const credits = checkCredits("MemoryCreditStore.refund", "credits", r.credits, 0);
    const t = this.#tenant(r.tenantId);
    t.balance = (t.balance ?? r.grant) + credits;
    const row = t.hours.get(r.hour)?.get(r.capability);
    if (row) row[1] = Math.max(0, row[1] - credits);
    return t.balance;
  }

  async balance(tenantId: string, grant: number): Promise<number> {
    return this.balanceNow(tenantId, grant);
  }

  /** Synchronous form of `balance`. */
  balanceNow(tenantId: string, grant: number): number {
    return this.#tenants.get(tenantId)?.balance ?? grant;
  }

  async add(tenantId: string, credits: number, grant: number): Promise<number> {
    checkCredits("MemoryCreditStore.add", "credits", credits, 1);
    const t = this.#tenant(tenantId);
    t.balance = (t.balance ?? grant) + credits;
    return t.balance;
  }

  async usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    const t = this.#tenants.get(tenantId);
    if (!t) return [];
    const from = Math.max(hourStart(sinceMs), hourStart(this.#clock.now() - this.#retentionMs));
    const rows: UsageRow[] = [];
    for (const [hour, caps] of t.hours) {
      if (hour < from) continue;
      for (const [capability, [calls, credits]] of caps) rows.push({ hour, capability, calls, credits });
    }
    return rows.sort(compareUsageRows);
  }
}

/**
 * Oldest hour first, then capability id.
 * @example rows.sort(compareUsageRows) // by hour, then capability
 */
export function compareUsageRows(a: UsageRow, b: UsageRow): number {
  return a.hour - b.hour || (a.capability < b.capability ? -1 : a.capability > b.capability ? 1 : 0);
}

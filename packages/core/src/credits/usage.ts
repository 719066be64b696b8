import { systemClock, type Clock } from "../clock";
import { DEFAULT_CREDIT_GRANT, HOUR_MS, hourStart, type CreditStore } from "./store";

/** What `GET /api/v2/usage` answers: the balance and the calls and credits per capability per hour. */
export interface UsageReport {
  readonly balance: number;
  /** Oldest hour first; `hour` is the start of the hour, `2026-04-02T10:00:00+00:00`
   * (the platform's timestamp form: whole seconds, explicit offset). */
  readonly data: readonly { readonly hour: string; readonly capability: string; readonly calls: number; readonly credits: number }[];
}

/** Options of `readUsage`. */
export interface ReadUsageOptions {
  /** Hours back from now, the current hour included. @default 24 */
  readonly hours?: number;
  /** The balance of a tenant never charged. @default DEFAULT_CREDIT_GRANT */
  readonly grant?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * The one read of usage: the tenant's balance and its calls and credits per capability per hour
 * over the last `hours` hours (the current one included), from one `CreditStore`.
 * @example
 * const report = await readUsage(credits, principal.tenant_id); // { balance, data: [{ hour, capability, calls, credits }] }
 */
export async function readUsage(store: CreditStore, tenantId: string, options: ReadUsageOptions = {}): Promise<UsageReport> {
  const hours = options.hours ?? 24;
  if (!Number.isInteger(hours) || hours < 1) throw new TypeError("readUsage: `hours` must be an integer >= 1");
  const now = (options.clock ?? systemClock).now();
  const since = hourStart(now) - (hours - 1) * HOUR_MS;
  const [balance, rows] = await Promise.all([store.balance(tenantId, options.grant ?? DEFAULT_CREDIT_GRANT), store.usage(tenantId, since)]);
  return {
    balance,
    data: rows.map((r) => ({ hour: new Date(r.hour).toISOString().slice(0, 19) + "+00:00", capability: r.capability, calls: r.calls, credits: r.credits })),
  };
}

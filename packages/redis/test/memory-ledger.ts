import { compareUsageRows, hourStart, type CreditLedger, type LedgerEntry, type UsageRow } from "@alloovium/core/store-kit";

/**
 * A `CreditLedger` in memory, for the Redis ledger tests: the interface's rules (ids recorded
 * once, balance = sum of entries, usage per hour of the charge) and a switch that makes every
 * call fail, as a ledger whose database is down does.
 */
export class MemoryCreditLedger implements CreditLedger {
  readonly entries = new Map<string, LedgerEntry>();
  /** Every `append` call's batch, as given (duplicates included). */
  readonly batches: (readonly LedgerEntry[])[] = [];
  /** While true, every call rejects. */
  down = false;

  /** Whether `append` answers the tenants' balances (else nothing, as the interface allows). */
  answersBalances = true;
  /** Called inside `append` before it records (a test holds a flush open with it). */
  beforeAppend: (() => Promise<void>) | undefined;

  async append(entries: readonly LedgerEntry[]): Promise<void | Map<string, number>> {
    await Promise.resolve();
    if (this.beforeAppend) await this.beforeAppend();
    if (this.down) throw new Error("ledger down");
    this.batches.push(entries);
    for (const e of entries) if (!this.entries.has(e.id)) this.entries.set(e.id, e);
    if (!this.answersBalances) return;
    const balances = new Map<string, number>();
    for (const e of this.entries.values()) if (entries.some((x) => x.tenantId === e.tenantId)) balances.set(e.tenantId, (balances.get(e.tenantId) ?? 0) + e.amount);
    return balances;
  }

  async balance(tenantId: string): Promise<number | null> {
    await Promise.resolve();
    if (this.down) throw new Error("ledger down");
    let sum: number | null = null;
    for (const e of this.entries.values()) if (e.tenantId === tenantId) sum = (sum ?? 0) + e.amount;
    return sum;
  }

  async usage(tenantId: string, sinceMs: number): Promise<UsageRow[]> {
    await Promise.resolve();
    if (this.down) throw new Error("ledger down");
    const charges = new Map<string, LedgerEntry>();
    for (const e of this.entries.values()) if (e.tenantId === tenantId && e.kind === "charge") charges.set(e.reservation!, e);
    const rows = new Map<string, { hour: number; capability: string; calls: number; credits: number }>();
    const row = (hour: number, capability: string) => {
      const k = `${hour}\n${capability}`;
      let r = rows.get(k);
      if (!r) rows.set(k, (r = { hour, capability, calls: 0, credits: 0 }));
      return r;
    };
    for (const e of this.entries.values()) {
      if (e.tenantId !== tenantId) continue;
      if (e.kind === "charge") {
        const r = row(hourStart(e.at), e.capability!);
        r.calls += 1;
        r.credits -= e.amount;
      } else if (e.kind === "refund") {
        const c = charges.get(e.reservation!);
        row(hourStart(c ? c.at : e.at), e.capability!).credits -= e.amount;
      }
    }
    const from = hourStart(sinceMs);
    return [...rows.values()].filter((r) => r.hour >= from).sort(compareUsageRows);
  }

  /** The tenant's entries, by kind. */
  of(tenantId: string, kind?: LedgerEntry["kind"]): LedgerEntry[] {
    return [...this.entries.values()].filter((e) => e.tenantId === tenantId && (kind === undefined || e.kind === kind));
  }
}

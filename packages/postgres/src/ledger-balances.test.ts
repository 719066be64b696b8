import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useSchema } from "../test/helpers";
import { createPostgresStores } from "./index";

const use = useSchema("ledger_balances");

describe("PostgresLedger.append", () => {
  it("answers each tenant's balance right after the batch (what Redis in front checks its balances against); a tenant whose entries are all held back has none", async () => {
    const { ledger } = createPostgresStores(use());
    const [a, b, held] = [randomUUID(), randomUUID(), randomUUID()];
    const at = Date.now();
    const grant = (t: string, amount: number) => ({ id: `grant:${t}`, tenantId: t, kind: "grant" as const, amount, capability: null, reservation: null, at });
    const charge = (t: string, amount: number) => {
      const id = randomUUID();
      return { id, tenantId: t, kind: "charge" as const, amount, capability: "a.b", reservation: id, at: at + 1 };
    };
    const first = await ledger.append([grant(a, 100), charge(a, -3), grant(b, 10), charge(held, -1)]);
    expect(first).toEqual(new Map([[a, 97], [b, 10]]));
    // A retried batch records nothing more and answers the same balances.
    const c = charge(a, -5);
    expect(await ledger.append([c])).toEqual(new Map([[a, 92]]));
    expect(await ledger.append([c])).toEqual(new Map([[a, 92]]));
    expect(await ledger.append([])).toEqual(new Map());
  });
});

import { randomUUID } from "node:crypto";
import type { CreditStore } from "@alloovium/core";
import { bucketStoreConformance, creditStoreConformance, idempotencyStoreConformance, keyStoreConformance } from "@alloovium/core/conformance";
import { afterAll } from "vitest";
import { MemoryCreditLedger } from "../test/memory-ledger";
import { deleteKeys, sleep } from "../test/redis-server";
import { testClient, testPrefix } from "../test/helpers";
import { RedisBucketStore } from "./buckets";
import { RedisCreditStore } from "./credits";
import { RedisIdempotencyStore } from "./idempotency";
import { RedisKeyStore } from "./key-store";

// The server's clock is real: `advance` waits.
const client = testClient();
const keyPrefix = testPrefix("conformance");
// Generous: a loaded 2-core machine must not turn a slow answer into a fallback.
const commandTimeoutMs = 5000;

afterAll(async () => {
  await deleteKeys(client, keyPrefix);
  client.disconnect();
});

bucketStoreConformance("RedisBucketStore (standalone)", () => ({
  store: new RedisBucketStore({ client, keyPrefix, commandTimeoutMs, failure: "closed" }),
  advance: sleep,
}));

idempotencyStoreConformance("RedisIdempotencyStore (standalone)", () => ({
  store: new RedisIdempotencyStore({ client, keyPrefix, commandTimeoutMs }),
  advance: sleep,
}));

keyStoreConformance("RedisKeyStore (standalone)", () => ({ store: new RedisKeyStore({ client, keyPrefix, commandTimeoutMs }) }));

creditStoreConformance("RedisCreditStore (standalone)", () => ({
  store: new RedisCreditStore({ client, keyPrefix, commandTimeoutMs }),
  now: async () => {
    const [sec, usec] = await client.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  },
}));

/**
 * In front of a ledger. The pipeline names each charge (`reservation`) and its refund by it; the
 * suite calls the store as a pipeline without ids would, so this wrapper plays that part.
 */
function withReservations(store: RedisCreditStore): CreditStore {
  const charged = new Map<string, string[]>();
  const named = (t: string, cap: string, credits: number, hour: number) => `${t}\n${cap}\n${credits}\n${hour}`;
  return {
    async charge(c) {
      const reservation = randomUUID();
      const r = await store.charge({ ...c, reservation });
      if (r.allowed) charged.set(named(c.tenantId, c.capability, r.charged, r.hour), [...(charged.get(named(c.tenantId, c.capability, r.charged, r.hour)) ?? []), reservation]);
      return r;
    },
    refund: (r) => store.refund({ ...r, reservation: charged.get(named(r.tenantId, r.capability, r.credits, r.hour))?.shift() ?? randomUUID() }),
    balance: (t, g) => store.balance(t, g),
    add: (t, c, g) => store.add(t, c, g),
    usage: (t, s) => store.usage(t, s),
  };
}

creditStoreConformance("RedisCreditStore in front of a ledger (standalone)", () => ({
  store: withReservations(new RedisCreditStore({ client, keyPrefix, commandTimeoutMs, ledger: new MemoryCreditLedger(), ledgerFlush: { autoStart: false } })),
  now: async () => {
    const [sec, usec] = await client.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  },
}));

/**
 * Contract section 10 on the wire, as the issue tried it: the sample app with DATABASE_URL and
 * REDIS_URL, on a redis-server of this file's own without persistence; keys created, revoked and
 * used, then Redis restarted empty. Every key authenticates as before (on this instance and on a
 * new one with nothing cached), a revoked key stays revoked, and the balance is the ledger's,
 * never back at the grant.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, waitFor } from "../../../../packages/redis/test/redis-server";
import { dropSchema, FRAMEWORKS, redisPostgresVariant, startApp, type App } from "./support/app";
import type { WireResponse } from "./support/http";
import { createFixture, type Fixture } from "./support/seed";

const PROJECTS = "/api/v2/vault/projects";

/** The `"credits";r=<balance>` member of a response's RateLimit header. */
function balance(r: WireResponse): number {
  const m = /"credits";r=(\d+)/.exec(r.headers.ratelimit ?? "");
  if (!m) throw new Error(`no credits balance in ${r.status} ${r.headers.ratelimit}`);
  return Number(m[1]);
}

describe("Redis in front of PostgreSQL: Redis restarted without persistence", () => {
  const framework = FRAMEWORKS[0]!;
  const schema = `loss_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  let redis: RedisServer;
  let fx: Fixture;
  let app: App;
  let second: App | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    fx = createFixture();
    app = await startApp(framework, redisPostgresVariant(redis.url), fx, { databaseSchema: schema });
  });
  afterAll(async () => {
    await second?.close();
    await app?.close();
    await redis?.destroy();
    const v = redisPostgresVariant();
    if (v.name === "redis-postgres") await dropSchema(v.databaseUrl, schema);
  });

  it("keeps every key, every revocation and every balance", async () => {
    const c = app.client;
    // A key made through the API, one revoked through it, and calls charged to their tenant.
    const created = await c.send({ method: "POST", path: "/api/v2/keys", key: fx.keys.keys, json: { name: "made before the loss", environment: "live", scopes: ["vault:read"] } });
    expect(created.status).toBe(201);
    const made = created.body.key as string;
    expect((await c.send({ method: "POST", path: `/api/v2/keys/${fx.ids.readOnly}/revoke`, key: fx.keys.keys })).status).toBe(200);
    const first = await c.get(PROJECTS, fx.keys.keys);
    expect(first.status).toBe(200);
    const grant = balance(first) + 1; // the tenant's first charge: a read, 1 credit (key routes are free)
    let last = 0;
    for (let i = 0; i < 6; i++) {
      const r = await c.get(PROJECTS, i % 2 ? made : fx.keys.keys);
      expect(r.status).toBe(200);
      last = balance(r);
    }
    expect(last).toBe(grant - 7);
    // The usage route reads the ledger (after flushing the tenant's queue): every credit is in it.
    const credited = (u: WireResponse) => u.body.data.reduce((n: number, row: { credits: number }) => n + row.credits, 0);
    const before = await c.get("/api/v2/usage", fx.keys.keys);
    expect(before.status).toBe(200);
    expect(credited(before)).toBe(7);

    await redis.stop();
    await redis.restart(); // empty

    await waitFor("the app on the new Redis", async () => (await c.get(PROJECTS, fx.keys.keys)).status === 200);
    second = await startApp(framework, redisPostgresVariant(redis.url), fx, { databaseSchema: schema });
    for (const client of [c, second.client]) {
      expect((await client.get("/api/v2/me", made)).status, "the key made through the API").toBe(200);
      expect((await client.get("/api/v2/me", fx.keys.main)).status, "a seeded key").toBe(200);
      const revoked = await client.get("/api/v2/me", fx.keys.readOnly);
      expect(revoked.status, "the key revoked through the API").toBe(401);
      expect(revoked.body.code).toBe("api_key_revoked");
    }
    // Charged from the ledger's balance, never from the grant (the waitFor's reads while the app
    // reconnected may have gone through uncharged: credits fail open).
    const after = await second.client.get(PROJECTS, fx.keys.keys);
    expect(after.status).toBe(200);
    expect(balance(after)).toBeLessThan(last);
    const usage = await second.client.get("/api/v2/usage", fx.keys.keys);
    expect(usage.status).toBe(200);
    expect(usage.body.balance).toBe(balance(after));
    // The ledger equals the calls made: its credits are exactly what the balance lost.
    expect(credited(usage)).toBe(grant - balance(after));
  });
});

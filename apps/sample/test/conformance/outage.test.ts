/**
 * A Redis outage on the wire, on every framework: the sample app on a redis-server of this file's
 * own, killed mid-run and started again. Every request that needs the store answers 503 with
 * `Retry-After` (never 500), and the app talks to Redis again without a restart. What a restart
 * without persistence loses (the key records) shows too: the Redis README says so.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, waitFor } from "../../../../packages/redis/test/redis-server";
import { FRAMEWORKS, startApp, type App } from "./support/app";
import type { WireResponse } from "./support/http";
import { createFixture, type Fixture } from "./support/seed";

const ME = "/api/v2/me";

describe.each(FRAMEWORKS)("a Redis outage on %s", (framework) => {
  let redis: RedisServer;
  let app: App;
  let fx: Fixture;

  beforeAll(async () => {
    redis = await RedisServer.start();
    fx = createFixture();
    app = await startApp(framework, { name: "redis", url: redis.url }, fx, { redisKeyPrefix: `outage:${framework}` });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.destroy();
  });

  function expectUnavailable(r: WireResponse, code = "service_unavailable"): void {
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(r.body).toMatchObject({ status: 503, code });
    expect(r.headers["retry-after"]).toBe("1");
  }

  it("answers 503 with Retry-After while Redis is down, and serves again once it is back", async () => {
    const c = app.client;
    expect((await c.get(ME, fx.keys.main)).status).toBe(200);
    expect((await c.get("/api/v2/keys", fx.keys.keys)).status).toBe(200);
    await redis.stop();

    // A key this instance has not verified yet cannot be: its record is in Redis.
    expectUnavailable(await c.get(ME, fx.keys.vault));
    // The key routes need the key store whatever the caller's key: list, create, revoke.
    expectUnavailable(await c.get("/api/v2/keys", fx.keys.keys));
    expectUnavailable(await c.send({ method: "POST", path: "/api/v2/keys", key: fx.keys.keys, json: { name: "during", environment: "live", scopes: [] } }));
    expectUnavailable(await c.send({ method: "POST", path: `/api/v2/keys/${fx.ids.readOnly}/revoke`, key: fx.keys.keys }));
    // An Idempotency-Key cannot be claimed: its own code, fail closed.
    expectUnavailable(
      await c.send({ method: "POST", path: "/api/v2/vault/projects", key: fx.keys.keys, json: { name: "x", project_type: "commercial" }, headers: [["Idempotency-Key", "outage-1"]] }),
      "idempotency_unavailable",
    );
    expect(app.logLines.join("\n")).not.toMatch(/ak_(live|test)_[A-Za-z0-9]{8}/); // a key's 12-character display prefix is logged, never more

    await redis.restart();
    // Redis is back, empty (no persistence): the app reaches it again with no restart of its own,
    // and the key it could not verify during the outage is now simply unknown.
    const after = await waitFor("the app to reach Redis again", async () => {
      const r = await c.get(ME, fx.keys.vault);
      return r.status === 503 ? undefined : r;
    });
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: "invalid_api_key" });
  });
});

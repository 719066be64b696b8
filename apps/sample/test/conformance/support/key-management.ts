/**
 * Contract section 9 on the wire: key management (`/api/v2/keys`) and credits and usage
 * (`/api/v2/usage`). Called by `contractSuite`, so it runs on every framework and store variant.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, describe, it } from "vitest";
import type { Framework, RunningServer } from "../../../src/server";
import { deleteByPrefix, startApp, startServerOn, type App, type StoreVariant } from "./app";
import { ISO_OFFSET, UUID, expectProblem, show } from "./expect";
import { createClient, sfMember, type Client, type WireResponse } from "./http";
import { METERED_CREDITS, TENANT, createFixture, tenantOf, type Fixture } from "./seed";

const KEYS = "/api/v2/keys";
const ME = "/api/v2/me";
const PROJECTS = "/api/v2/vault/projects";
const USAGE = "/api/v2/usage";

/** A key record on the wire, in this member order (contract section 9); never the digest. */
export const KEY_RECORD_MEMBERS = [
  "id", "name", "prefix", "environment", "rate_limit_tier", "scopes",
  "created_at", "last_used_at", "expires_at", "revoked_at", "status",
] as const;
const RAW_KEY = /^ak_(live|test)_[0-9A-Za-z]{38}$/;
const MAX_GRACE = 7 * 24 * 60 * 60;

const uniqueName = (what: string) => `${what}-${randomUUID().slice(0, 8)}`;

/** The `"credits"` balance of the RateLimit header. */
function creditsLeft(res: WireResponse): number {
  const m = sfMember(res.headers["ratelimit"], "credits");
  expect(m?.r, `RateLimit credits member: ${show(res)}`).toMatch(/^\d+$/);
  return Number(m!.r);
}

/**
 * Key lifecycle: create (raw key once), use, list, get, update, no escalation, revoke, roll,
 * tenant isolation, and the replay that never holds the raw key. Every raw key a test creates
 * is pushed to `created`, so that the suite's last checks can look for it in logs and answers.
 */
export function keyManagementSuite(app: () => App, fx: Fixture, created: string[]): void {
  const K = fx.keys;
  const c = (): Client => app().client;

  function createKey(key: string, body: unknown, headers: ReadonlyArray<readonly [string, string]> = []): Promise<WireResponse> {
    return c().send({ method: "POST", path: KEYS, key, json: body, headers });
  }

  /** Creates a key with K.keys and returns its record and raw key. */
  async function newKey(scopes: string[] = ["vault:read"], extra: Record<string, unknown> = {}): Promise<{ id: string; raw: string; body: Record<string, unknown> }> {
    const res = await createKey(K.keys, { name: uniqueName("key"), environment: "live", scopes, ...extra });
    expect(res.status, show(res)).toBe(201);
    created.push(res.body.key as string);
    return { id: res.body.id as string, raw: res.body.key as string, body: res.body as Record<string, unknown> };
  }

  function roll(key: string, id: string, body: unknown, headers: ReadonlyArray<readonly [string, string]> = []): Promise<WireResponse> {
    return c().send({ method: "POST", path: `${KEYS}/${id}/roll`, key, json: body, headers });
  }

  /** Every key record of the caller's tenant, walking the pages. */
  async function listKeys(key: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res: WireResponse = await c().get(`${KEYS}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, key);
      expect(res.status, show(res)).toBe(200);
      expect(Object.keys(res.body)).toEqual(["data", "next_cursor", "has_more"]);
      out.push(...(res.body.data as Record<string, unknown>[]));
      if (!res.body.has_more) break;
      cursor = res.body.next_cursor as string;
    }
    return out;
  }

  describe("key management (section 9)", () => {
    it("creates a key: 201, Location, the record flat plus the raw key, with the creator's tier", async () => {
      const name = uniqueName("ci");
      const res = await createKey(K.keys, { name, environment: "live", scopes: ["vault:write", "vault:read", "vault:read"] });
      expect(res.status, show(res)).toBe(201);
      expect(res.mediaType).toBe("application/json");
      created.push(res.body.key);
      expect(Object.keys(res.body)).toEqual([...KEY_RECORD_MEMBERS, "key"]);
      expect(res.body).toStrictEqual({
        id: expect.stringMatching(UUID),
        name,
        prefix: (res.body.key as string).slice(0, 12),
        environment: "live",
        rate_limit_tier: "pro",
        scopes: ["vault:read", "vault:write"],
        created_at: expect.stringMatching(ISO_OFFSET),
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
        status: "active",
        key: expect.stringMatching(/^ak_live_[0-9A-Za-z]{38}$/),
      });
      expect(res.headers.location).toBe(`${KEYS}/${res.body.id}`);
    });

    it("makes a key that works at once, as the principal it describes", async () => {
      const { id, raw } = await newKey(["vault:read"]);
      const me = await c().get(ME, raw);
      expect(me.status, show(me)).toBe(200);
      expect(me.body).toMatchObject({ api_key_id: id, tenant_id: TENANT.acme, environment: "live", rate_limit_tier: "pro", scopes: ["vault:read"] });
      const projects = await c().get(PROJECTS, raw);
      expect(projects.status, show(projects)).toBe(200);
      expectProblem(await c().send({ method: "POST", path: PROJECTS, key: raw, json: { name: "x", project_type: "commercial" } }), "insufficient_scope", {
        missing_scopes: ["vault:write"],
      });
    });

    it("lists the tenant's keys as records only: no raw key, no digest", async () => {
      const { id, raw, body } = await newKey();
      const res = await c().get(`${KEYS}?limit=100`, K.keys);
      expect(res.status, show(res)).toBe(200);
      expect(res.text.includes(raw)).toBe(false);
      const all = await listKeys(K.keys);
      for (const k of all) expect(Object.keys(k)).toEqual([...KEY_RECORD_MEMBERS]);
      const { key: _raw, ...record } = body;
      expect(all.find((k) => k.id === id)).toStrictEqual(record);
      // The tenant's seeded keys are listed; another tenant's never are.
      const ids = all.map((k) => k.id);
      expect(ids).toEqual(expect.arrayContaining([fx.ids.main, fx.ids.keys, fx.ids.revoked]));
      expect(ids).not.toContain(fx.ids.other);
      expect(ids).not.toContain(fx.ids.otherKeys);
      expect(all.find((k) => k.id === fx.ids.revoked)).toMatchObject({ status: "revoked", revoked_at: expect.stringMatching(ISO_OFFSET) });
      expect(all.find((k) => k.id === fx.ids.expired)).toMatchObject({ status: "expired" });
    });

    it("pages the key list with limit and cursor, newest first", async () => {
      await newKey();
      await newKey();
      const first = await c().get(`${KEYS}?limit=1`, K.keys);
      expect(first.status, show(first)).toBe(200);
      expect(first.body.data).toHaveLength(1);
      expect(first.body.has_more).toBe(true);
      const second = await c().get(`${KEYS}?limit=1&cursor=${first.body.next_cursor}`, K.keys);
      expect(second.status, show(second)).toBe(200);
      expect(second.body.data).toHaveLength(1);
      expect(second.body.data[0].id).not.toBe(first.body.data[0].id);
      expect(Date.parse(second.body.data[0].created_at)).toBeLessThanOrEqual(Date.parse(first.body.data[0].created_at));
      expectProblem(await c().get(`${KEYS}?limit=0`, K.keys), "invalid_parameter", { param: "limit" });
      expectProblem(await c().get(`${KEYS}?cursor=bm90LWEtY3Vyc29y`, K.keys), "invalid_cursor");
    });

    it("gets one key's record", async () => {
      const { id, body } = await newKey(["vault:read"], { expires_at: "2099-06-01T00:00:00Z" });
      const res = await c().get(`${KEYS}/${id}`, K.keys);
      expect(res.status, show(res)).toBe(200);
      const { key: _raw, ...record } = body;
      expect(res.body).toStrictEqual(record);
      expect(Date.parse(res.body.expires_at)).toBe(Date.parse("2099-06-01T00:00:00Z"));
      expectProblem(await c().get(`${KEYS}/${randomUUID()}`, K.keys), "not_found");
    });

    it("updates a key's name and scopes, and the key holds the new scopes at once", async () => {
      const { id, raw } = await newKey(["vault:read"]);
      expect((await c().get(ME, raw)).body.scopes).toEqual(["vault:read"]); // cached as verified
      const res = await c().send({ method: "PATCH", path: `${KEYS}/${id}`, key: K.keys, json: { name: "Renamed", scopes: ["vault:write", "vault:read"] } });
      expect(res.status, show(res)).toBe(200);
      expect(res.body).toMatchObject({ id, name: "Renamed", scopes: ["vault:read", "vault:write"], status: "active" });
      expect(Object.keys(res.body)).toEqual([...KEY_RECORD_MEMBERS]);
      const me = await c().get(ME, raw);
      expect(me.body).toMatchObject({ api_key_name: "Renamed", scopes: ["vault:read", "vault:write"] });
    });

    it("refuses to change anything but name and scopes", async () => {
      const { id } = await newKey();
      const res = await c().send({ method: "PATCH", path: `${KEYS}/${id}`, key: K.keys, json: { rate_limit_tier: "enterprise", environment: "test" } });
      expectProblem(res, "validation_failed");
      expect((res.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(["environment", "rate_limit_tier"]);
    });

    it("never grants a scope the creator lacks: 403 insufficient_scope with only the missing scopes", async () => {
      const name = uniqueName("escalate");
      const res = await createKey(K.keys, { name, environment: "live", scopes: ["vault:read", "chat:write", "chat:read"] });
      expectProblem(res, "insufficient_scope", { missing_scopes: ["chat:read", "chat:write"] });
      expect(res.body.detail).toBe("API key is missing required scopes: chat:read, chat:write");
      expect((await listKeys(K.keys)).some((k) => k.name === name)).toBe(false);
      const { id } = await newKey();
      const patch = await c().send({ method: "PATCH", path: `${KEYS}/${id}`, key: K.keys, json: { scopes: ["templates:read"] } });
      expectProblem(patch, "insufficient_scope", { missing_scopes: ["templates:read"] });
      expect((await c().get(`${KEYS}/${id}`, K.keys)).body.scopes).toEqual(["vault:read"]);
    });

    it("needs keys:read to list and keys:write to create", async () => {
      const list = await c().get(KEYS, K.readOnly);
      expectProblem(list, "insufficient_scope", { missing_scopes: ["keys:read"] });
      expect(list.headers["www-authenticate"]).toBe('Bearer realm="alloovium", error="insufficient_scope", scope="keys:read"');
      expectProblem(await createKey(K.vault, { name: "x", environment: "live", scopes: [] }), "insufficient_scope", { missing_scopes: ["keys:write"] });
    });

    it("lets a test key create test keys only (403 environment_mismatch for a live one)", async () => {
      const live = await createKey(K.keysTest, { name: uniqueName("live-from-test"), environment: "live", scopes: ["vault:read"] });
      expectProblem(live, "environment_mismatch");
      const test = await createKey(K.keysTest, { name: uniqueName("test-from-test"), environment: "test", scopes: ["vault:read"] });
      expect(test.status, show(test)).toBe(201);
      created.push(test.body.key);
      expect(test.body.key).toMatch(/^ak_test_/);
      expect(test.body.environment).toBe("test");
    });

    it.each([
      ["no body fields", {}, ["environment", "name", "scopes"]],
      ["a blank name", { name: "  ", environment: "live", scopes: [] }, ["name"]],
      ["an unknown environment", { name: "x", environment: "prod", scopes: [] }, ["environment"]],
      ["a malformed scope", { name: "x", environment: "live", scopes: ["vault"] }, ["scopes"]],
      ["an expiry in the past", { name: "x", environment: "live", scopes: [], expires_at: "2020-01-01T00:00:00Z" }, ["expires_at"]],
      ["a tier (the creator's is taken)", { name: "x", environment: "live", scopes: [], rate_limit_tier: "enterprise" }, ["rate_limit_tier"]],
    ])("answers 422 validation_failed to a create with %s", async (_name, body, fields) => {
      const res = await createKey(K.keys, body);
      expectProblem(res, "validation_failed");
      expect((res.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(fields);
    });

    it("answers 400 invalid_body to a create whose body is not JSON", async () => {
      const res = await c().send({ method: "POST", path: KEYS, key: K.keys, headers: [["Content-Type", "application/json"]], body: "{" });
      expectProblem(res, "invalid_body");
    });

    it("revokes a key: 200 with the record, and the key is refused at once with 401 api_key_revoked", async () => {
      const { id, raw } = await newKey();
      expect((await c().get(ME, raw)).status).toBe(200); // now in the verified-key cache
      const res = await c().send({ method: "POST", path: `${KEYS}/${id}/revoke`, key: K.keys });
      expect(res.status, show(res)).toBe(200);
      expect(Object.keys(res.body)).toEqual([...KEY_RECORD_MEMBERS]);
      expect(res.body).toMatchObject({ id, status: "revoked", revoked_at: expect.stringMatching(ISO_OFFSET) });
      expectProblem(await c().get(ME, raw), "api_key_revoked");
      expectProblem(await c().get(PROJECTS, raw), "api_key_revoked");
      const again = await c().send({ method: "POST", path: `${KEYS}/${id}/revoke`, key: K.keys, json: {} });
      expect(again.status, show(again)).toBe(200);
      expect(again.body.revoked_at).toBe(res.body.revoked_at);
      expectProblem(await roll(K.keys, id, { grace_period_seconds: 60 }), "validation_failed");
    });

    it("rolls a key with a grace period: 201 like create for the new key; old and new both work", async () => {
      const { id, raw, body } = await newKey(["vault:read", "vault:write"]);
      expect((await c().get(ME, raw)).status).toBe(200);
      const res = await roll(K.keys, id, { grace_period_seconds: 3600 });
      expect(res.status, show(res)).toBe(201);
      created.push(res.body.key);
      expect(Object.keys(res.body)).toEqual([...KEY_RECORD_MEMBERS, "key"]);
      expect(res.body).toMatchObject({ name: body.name, scopes: ["vault:read", "vault:write"], environment: "live", rate_limit_tier: "pro", status: "active" });
      expect(res.body.id).not.toBe(id);
      expect(res.body.key).toMatch(RAW_KEY);
      expect(res.body.key).not.toBe(raw);
      expect(res.headers.location).toBe(`${KEYS}/${res.body.id}`);
      for (const key of [raw, res.body.key as string]) {
        const me = await c().get(ME, key);
        expect(me.status, show(me)).toBe(200);
      }
      const old = await c().get(`${KEYS}/${id}`, K.keys);
      expect(old.body.status).toBe("active");
      const ends = Date.parse(old.body.expires_at);
      expect(ends).toBeGreaterThan(Date.now() + 3000 * 1000);
      expect(ends).toBeLessThanOrEqual(Date.now() + 3600 * 1000);
    });

    it("rolls a key with grace_period_seconds 0: the old key is refused at once with 401 api_key_expired", async () => {
      const { id, raw } = await newKey();
      expect((await c().get(ME, raw)).status).toBe(200); // now in the verified-key cache
      const res = await roll(K.keys, id, { grace_period_seconds: 0 });
      expect(res.status, show(res)).toBe(201);
      created.push(res.body.key);
      expectProblem(await c().get(ME, raw), "api_key_expired");
      expect((await c().get(ME, res.body.key)).status).toBe(200);
      expect((await c().get(`${KEYS}/${id}`, K.keys)).body.status).toBe("expired");
    });

    it.each([
      ["more than 7 days", MAX_GRACE + 1],
      ["a negative period", -1],
      ["a fraction", 1.5],
      ["a string", "3600"],
    ])("answers 422 validation_failed to a roll with %s of grace, and rolls nothing", async (_name, grace) => {
      const { id, raw } = await newKey();
      const res = await roll(K.keys, id, { grace_period_seconds: grace });
      expectProblem(res, "validation_failed");
      expect((res.body.errors as { field: string }[]).map((e) => e.field)).toEqual(["grace_period_seconds"]);
      const old = await c().get(`${KEYS}/${id}`, K.keys);
      expect(old.body).toMatchObject({ status: "active", expires_at: null });
      expect((await c().get(ME, raw)).status).toBe(200);
    });

    it("accepts the longest grace period, 7 days", async () => {
      const { id } = await newKey();
      const res = await roll(K.keys, id, { grace_period_seconds: MAX_GRACE });
      expect(res.status, show(res)).toBe(201);
      created.push(res.body.key);
    });

    it("answers 404 not_found for another tenant's key on every key route, and never lists it", async () => {
      const { id, raw } = await newKey();
      const path = `${KEYS}/${id}`;
      expectProblem(await c().get(path, K.otherKeys), "not_found");
      expectProblem(await c().send({ method: "PATCH", path, key: K.otherKeys, json: { name: "pwned" } }), "not_found");
      expectProblem(await c().send({ method: "POST", path: `${path}/revoke`, key: K.otherKeys }), "not_found");
      expectProblem(await roll(K.otherKeys, id, { grace_period_seconds: 0 }), "not_found");
      expect((await listKeys(K.otherKeys)).some((k) => k.id === id)).toBe(false);
      expectProblem(await c().get(`${KEYS}/${fx.ids.otherKeys}`, K.keys), "not_found");
      const still = await c().get(path, K.keys);
      expect(still.body).toMatchObject({ status: "active", expires_at: null });
      expect(still.body.name).not.toBe("pwned");
      expect((await c().get(ME, raw)).status).toBe(200);
    });

    it("replays a create without the raw key: the raw key is never stored, not even for replays", async () => {
      const idem = `key-create-${randomUUID()}`;
      const body = { name: uniqueName("replayed"), environment: "live", scopes: ["vault:read"] };
      const first = await createKey(K.keys, body, [["Idempotency-Key", idem]]);
      expect(first.status, show(first)).toBe(201);
      created.push(first.body.key);
      const second = await createKey(K.keys, body, [["Idempotency-Key", idem]]);
      expect(second.status, show(second)).toBe(201);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      expect(second.headers.location).toBe(first.headers.location);
      const { key: raw, ...record } = first.body;
      expect(second.body).toStrictEqual(record);
      expect(second.text.includes(raw)).toBe(false);
      expect((await listKeys(K.keys)).filter((k) => k.name === body.name)).toHaveLength(1);
    });

    it("replays a roll without the new raw key", async () => {
      const { id } = await newKey();
      const idem = `key-roll-${randomUUID()}`;
      const first = await roll(K.keys, id, { grace_period_seconds: 60 }, [["Idempotency-Key", idem]]);
      expect(first.status, show(first)).toBe(201);
      created.push(first.body.key);
      const second = await roll(K.keys, id, { grace_period_seconds: 60 }, [["Idempotency-Key", idem]]);
      expect(second.status, show(second)).toBe(201);
      expect(second.headers["idempotent-replayed"]).toBe("true");
      const { key: raw, ...record } = first.body;
      expect(second.body).toStrictEqual(record);
      expect(second.text.includes(raw)).toBe(false);
    });

    it("shows last_used_at once a key has been used", async () => {
      const { id, raw } = await newKey();
      expect((await c().get(ME, raw)).status).toBe(200);
      // Written off the request's critical path: poll the record until it shows.
      await expect
        .poll(async () => (await c().get(`${KEYS}/${id}`, K.keys)).body.last_used_at, { timeout: 10_000, interval: 100 })
        .toMatch(ISO_OFFSET);
    });

    it("costs no credits: key management leaves the balance as it was", async () => {
      const before = creditsLeft(await c().get(KEYS, K.keys));
      await newKey();
      const after = creditsLeft(await c().get(`${KEYS}?limit=1`, K.keys));
      expect(after).toBe(before);
    });
  });
}

/**
 * Credits and usage on the wire: a tenant seeded with METERED_CREDITS credits pays for vault
 * reads, sees them in `/api/v2/usage`, and gets 402 once the balance is short.
 */
export function usageSuite(app: () => App, fx: Fixture): void {
  const K = fx.keys;
  const c = (): Client => app().client;

  describe("credits and usage (section 9)", () => {
    it("answers the seeded balance and no usage before any metered call", async () => {
      const res = await c().get(USAGE, K.metered);
      expect(res.status, show(res)).toBe(200);
      expect(Object.keys(res.body)).toEqual(["balance", "data"]);
      expect(res.body.balance).toBe(METERED_CREDITS);
      // The usage read itself is the only call so far: counted, at 0 credits.
      expect(res.body.data).toStrictEqual([{ hour: expect.stringMatching(ISO_OFFSET), capability: "usage.get", calls: 1, credits: 0 }]);
      expect(creditsLeft(res)).toBe(METERED_CREDITS);
      expect(sfMember(res.headers["ratelimit-policy"], "credits")).toEqual({ q: String(METERED_CREDITS) });
    });

    it("charges a vault read 1 credit and shows it in usage for the current hour", async () => {
      const read = await c().get(PROJECTS, K.metered);
      expect(read.status, show(read)).toBe(200);
      expect(creditsLeft(read)).toBe(METERED_CREDITS - 1);
      const res = await c().get(USAGE, K.metered);
      expect(res.status, show(res)).toBe(200);
      expect(res.body.balance).toBe(METERED_CREDITS - 1);
      const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString().slice(0, 19) + "+00:00";
      const rows = res.body.data as { hour: string; capability: string; calls: number; credits: number }[];
      for (const r of rows) expect(Object.keys(r)).toEqual(["hour", "capability", "calls", "credits"]);
      const vault = rows.filter((r) => r.capability === "vault.projects.list");
      expect(vault.reduce((n, r) => n + r.calls, 0)).toBe(1);
      expect(vault.reduce((n, r) => n + r.credits, 0)).toBe(1);
      // An hour may have turned between the call and this read: the row is this hour's or the last.
      expect([hour, new Date(Date.parse(hour) - 3_600_000).toISOString().slice(0, 19) + "+00:00"]).toContain(vault[0]!.hour);
      // The usage read itself is counted at 0 credits.
      expect(rows.filter((r) => r.capability === "usage.get").every((r) => r.credits === 0)).toBe(true);
    });

    it("answers 402 insufficient_credits with balance and required, no Retry-After, once the balance is short", async () => {
      for (let i = 1; i < METERED_CREDITS; i++) expect((await c().get(PROJECTS, K.metered)).status).toBe(200);
      const res = await c().get(PROJECTS, K.metered);
      expectProblem(res, "insufficient_credits", { balance: 0, required: 1 });
      expect(res.headers["retry-after"]).toBeUndefined();
      // Free capabilities still answer.
      expect((await c().get(ME, K.metered)).status).toBe(200);
      const usage = await c().get(USAGE, K.metered);
      expect(usage.status, show(usage)).toBe(200);
      expect(usage.body.balance).toBe(0);
      const vault = (usage.body.data as { capability: string; calls: number; credits: number }[]).filter((r) => r.capability === "vault.projects.list");
      expect(vault.reduce((n, r) => n + r.credits, 0)).toBe(METERED_CREDITS);
    });

    it("needs usage:read", async () => {
      expectProblem(await c().get(USAGE, K.readOnly), "insufficient_scope", { missing_scopes: ["usage:read"] });
    });

    it("shows only the caller's tenant", async () => {
      const res = await c().get(USAGE, K.keys);
      expect(res.status, show(res)).toBe(200);
      expect(res.body.balance).toBeGreaterThan(METERED_CREDITS);
    });
  });
}

/**
 * Key management without races or privilege gaps (contract sections 4 and 9): one successor per
 * key, no escalation in either direction, the tenant's active-key cap, paging while keys are
 * created, and (on Redis) a restart with the same seed that undoes nothing. Starts apps of its
 * own where a test needs a cap or a restart.
 */
export function keyLifecycleSuite(app: () => App, fx: Fixture, created: string[], framework: Framework, variant: StoreVariant): void {
  const K = fx.keys;
  const c = (): Client => app().client;
  const keyPath = (id: string) => `${KEYS}/${id}`;

  async function create(client: Client, key: string, scopes: string[], name = uniqueName("key")): Promise<{ id: string; raw: string }> {
    const res = await client.send({ method: "POST", path: KEYS, key, json: { name, environment: "live", scopes } });
    expect(res.status, show(res)).toBe(201);
    created.push(res.body.key as string);
    return { id: res.body.id as string, raw: res.body.key as string };
  }

  async function allKeys(client: Client, key: string, limit = 100): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 200; page++) {
      const res: WireResponse = await client.get(`${KEYS}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, key);
      expect(res.status, show(res)).toBe(200);
      out.push(...(res.body.data as Record<string, unknown>[]));
      if (!res.body.has_more) break;
      cursor = res.body.next_cursor as string;
    }
    return out;
  }

  describe("key lifecycle without races or privilege gaps (sections 4 and 9)", () => {
    it("gives a key one successor: of 20 racing rolls one is 201 and every other 409 key_already_rolled, and so is any later roll", async () => {
      const name = uniqueName("rolled");
      const { id, raw } = await create(c(), K.keys, ["vault:read"], name);
      const rolls = await Promise.all(Array.from({ length: 20 }, () => c().send({ method: "POST", path: `${keyPath(id)}/roll`, key: K.keys, json: { grace_period_seconds: 3600 } })));
      const won = rolls.filter((r) => r.status === 201);
      expect(won, rolls.map((r) => r.status).join(",")).toHaveLength(1);
      created.push(won[0]!.body.key as string);
      for (const r of rolls.filter((x) => x.status !== 201)) expectProblem(r, "key_already_rolled", {}, true);
      expectProblem(await c().send({ method: "POST", path: `${keyPath(id)}/roll`, key: K.keys, json: { grace_period_seconds: 0 } }), "key_already_rolled");
      // The old key keeps its one grace end and works; one successor is active, the losers' keys never are.
      const old = await c().get(keyPath(id), K.keys);
      expect(old.body.status).toBe("active");
      expect(Date.parse(old.body.expires_at)).toBeLessThanOrEqual(Date.now() + 3600 * 1000);
      expect((await c().get(ME, raw)).status).toBe(200);
      const same = (await allKeys(c(), K.keys)).filter((k) => k.name === name && k.id !== id);
      // The losers' new keys (never delivered) are removed: the list holds the old key and its successor only.
      expect(same.map((k) => k.id)).toEqual([won[0]!.body.id]);
      // The successor itself rolls on.
      const next = await c().send({ method: "POST", path: `${keyPath(won[0]!.body.id as string)}/roll`, key: K.keys, json: { grace_period_seconds: 0 } });
      expect(next.status, show(next)).toBe(201);
      created.push(next.body.key as string);
    });

    it("refuses a keys:write-only key that strips, rolls or revokes a stronger key (403 insufficient_scope), and lets it revoke itself", async () => {
      const writer = await create(c(), K.keys, ["keys:write"]);
      const target = await create(c(), K.keys, ["usage:read", "vault:read", "vault:write"]);
      const challenge = 'Bearer realm="alloovium", error="insufficient_scope", scope="usage:read vault:read vault:write"';
      const missing = { missing_scopes: ["usage:read", "vault:read", "vault:write"] };
      const strip = await c().send({ method: "PATCH", path: keyPath(target.id), key: writer.raw, json: { scopes: [] } });
      expectProblem(strip, "insufficient_scope", missing);
      expect(strip.headers["www-authenticate"]).toBe(challenge);
      expect(strip.body.detail).toBe("API key is missing required scopes: usage:read, vault:read, vault:write");
      expectProblem(await c().send({ method: "PATCH", path: keyPath(target.id), key: writer.raw, json: { name: "renamed" } }), "insufficient_scope", missing);
      expectProblem(await c().send({ method: "POST", path: `${keyPath(target.id)}/revoke`, key: writer.raw }), "insufficient_scope", missing);
      expectProblem(await c().send({ method: "POST", path: `${keyPath(target.id)}/roll`, key: writer.raw, json: { grace_period_seconds: 0 } }), "insufficient_scope", missing);
      // A seeded key with scopes K.keys lacks (chat:*, templates:read) is out of its reach too.
      const main = await c().send({ method: "POST", path: `${keyPath(fx.ids.main)}/revoke`, key: K.keys });
      expectProblem(main, "insufficient_scope", { missing_scopes: ["chat:read", "chat:write", "templates:read"] });
      const still = await c().get(keyPath(target.id), K.keys);
      expect(still.body).toMatchObject({ scopes: ["usage:read", "vault:read", "vault:write"], status: "active", expires_at: null, revoked_at: null });
      expect((await c().get(ME, K.main)).status).toBe(200);
      // Cutting a key down needs every scope it has now: K.keys holds them all.
      const cut = await c().send({ method: "PATCH", path: keyPath(target.id), key: K.keys, json: { scopes: ["vault:read"] } });
      expect(cut.status, show(cut)).toBe(200);
      expect(cut.body.scopes).toEqual(["vault:read"]);
      // A key holding keys:write may always revoke itself.
      const self = await c().send({ method: "POST", path: `${keyPath(writer.id)}/revoke`, key: writer.raw });
      expect(self.status, show(self)).toBe(200);
      expect(self.body).toMatchObject({ id: writer.id, status: "revoked" });
      expectProblem(await c().get(KEYS, writer.raw), "api_key_revoked");
    });

    it("answers every one of 30 racing renames of one key with 200, never a 5xx", async () => {
      const { id } = await create(c(), K.keys, ["vault:read"]);
      const names = Array.from({ length: 30 }, (_, i) => `race-${i}`);
      const answers = await Promise.all(names.map((name) => c().send({ method: "PATCH", path: keyPath(id), key: K.keys, json: { name } })));
      expect(answers.map((r) => r.status)).toEqual(names.map(() => 200));
      expect(names).toContain((await c().get(keyPath(id), K.keys)).body.name);
    });

    it("pages the key list inside the store: every key once, newest first, while keys are created between pages", async () => {
      for (let i = 0; i < 4; i++) await create(c(), K.keys, []);
      const before = (await allKeys(c(), K.keys)).map((k) => k.id);
      const walked: Record<string, unknown>[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100; page++) {
        const res: WireResponse = await c().get(`${KEYS}?limit=3${cursor ? `&cursor=${cursor}` : ""}`, K.keys);
        expect(res.status, show(res)).toBe(200);
        expect((res.body.data as unknown[]).length).toBeLessThanOrEqual(3);
        walked.push(...(res.body.data as Record<string, unknown>[]));
        if (page < 2) await create(c(), K.keys, []); // newer than the cursor: shifts nothing
        if (!res.body.has_more) {
          expect(res.body.next_cursor).toBeNull();
          break;
        }
        cursor = res.body.next_cursor as string;
      }
      // The first page was read before the new keys; every later page is exactly what was there.
      expect(walked.map((k) => k.id)).toEqual(before);
      const order = walked.map((k) => [Date.parse(k.created_at as string), k.id as string] as const);
      for (let i = 1; i < order.length; i++) {
        const [ta, ia] = order[i - 1]!;
        const [tb, ib] = order[i]!;
        expect(ta > tb || (ta === tb && ia > ib), `${ia} before ${ib}`).toBe(true);
      }
    });

    describe("the tenant's active-key cap", () => {
      const capped = createFixture();
      // The tenant's seeded keys that count: neither revoked nor expired.
      const seededActive = Object.values(capped.specs).filter(
        (k) => tenantOf(k.user) === TENANT.acme && !("revoked" in k && k.revoked) && !("expiresAt" in k && k.expiresAt && Date.parse(k.expiresAt) <= Date.now()),
      ).length;
      const maxActiveKeys = seededActive + 3;
      let cap: App;
      beforeAll(async () => {
        cap = await startApp(framework, variant, capped, { maxActiveKeys });
      });
      afterAll(async () => {
        await cap?.close();
      });

      it("answers 409 key_limit_reached to one more create, counts neither revoked nor expired keys, never refuses a roll, and holds under racing creates", async () => {
        const cc = () => cap.client;
        const made = [];
        for (let i = 0; i < 3; i++) made.push(await create(cc(), capped.keys.keys, ["vault:read"]));
        const refused = await cc().send({ method: "POST", path: KEYS, key: capped.keys.keys, json: { name: "one too many", environment: "live", scopes: [] } });
        expectProblem(refused, "key_limit_reached");
        expect((await allKeys(cc(), capped.keys.keys)).some((k) => k.name === "one too many")).toBe(false);
        // A roll at the cap is never refused.
        const rolled = await cc().send({ method: "POST", path: `${keyPath(made[0]!.id)}/roll`, key: capped.keys.keys, json: { grace_period_seconds: 0 } });
        expect(rolled.status, show(rolled)).toBe(201);
        created.push(rolled.body.key as string);
        // The old key expired at once and its successor took its slot; revoking two frees two.
        for (const k of made.slice(1)) expect((await cc().send({ method: "POST", path: `${keyPath(k.id)}/revoke`, key: capped.keys.keys })).status).toBe(200);
        const burst = await Promise.all(
          Array.from({ length: 12 }, (_, i) => cc().send({ method: "POST", path: KEYS, key: capped.keys.keys, json: { name: `burst-${i}`, environment: "live", scopes: [] } })),
        );
        const ok = burst.filter((r) => r.status === 201);
        for (const r of ok) created.push(r.body.key as string);
        expect(ok).toHaveLength(2);
        for (const r of burst.filter((x) => x.status !== 201)) expectProblem(r, "key_limit_reached");
        const active = (await allKeys(cc(), capped.keys.keys)).filter((k) => k.status === "active");
        expect(active).toHaveLength(maxActiveKeys);
        // Another tenant has a cap of its own.
        const other = await cc().send({ method: "POST", path: KEYS, key: capped.keys.otherKeys, json: { name: "other", environment: "live", scopes: [] } });
        expect(other.status, show(other)).toBe(201);
        created.push(other.body.key as string);
      });

      it("keeps a chain of rolls with a grace period to two active keys: 12 rolls at the cap leave exactly cap + 1 active", async () => {
        const cc = () => cap.client;
        const start = (await allKeys(cc(), capped.keys.keys)).filter((k) => k.status === "active");
        expect(start).toHaveLength(maxActiveKeys);
        let id = start.find((k) => (k.name as string).startsWith("burst-"))!.id as string;
        const chain: string[] = [];
        for (let i = 0; i < 12; i++) {
          const rolled = await cc().send({ method: "POST", path: `${keyPath(id)}/roll`, key: capped.keys.keys, json: { grace_period_seconds: MAX_GRACE } });
          expect(rolled.status, show(rolled)).toBe(201);
          created.push(rolled.body.key as string);
          chain.push(rolled.body.key as string);
          id = rolled.body.id as string;
          // Rolling a key ends its predecessor's grace: the chain's newest key and the one it replaced.
          expect((await allKeys(cc(), capped.keys.keys)).filter((k) => k.status === "active")).toHaveLength(maxActiveKeys + 1);
        }
        expectProblem(await cc().get(ME, chain[chain.length - 3]!), "api_key_expired");
        expect((await cc().get(ME, chain[chain.length - 2]!)).status).toBe(200);
        expect((await cc().get(ME, chain[chain.length - 1]!)).status).toBe(200);
      });
    });

    it("refuses a key name with a lone surrogate (422 validation_failed) and the tenant keeps working", async () => {
      const body = '{"name":"x\\ud800","environment":"live","scopes":[]}';
      const bad = await c().send({ method: "POST", path: KEYS, key: K.keys, body, headers: [["content-type", "application/json"]] });
      expectProblem(bad, "validation_failed");
      const { id } = await create(c(), K.keys, [], uniqueName("after-surrogate"));
      const rename = await c().send({ method: "PATCH", path: keyPath(id), key: K.keys, body: '{"name":"\\udc00y"}', headers: [["content-type", "application/json"]] });
      expectProblem(rename, "validation_failed");
      expect((await c().get(`${KEYS}?limit=5`, K.keys)).status).toBe(200);
      const rolled = await c().send({ method: "POST", path: `${keyPath(id)}/roll`, key: K.keys, json: { grace_period_seconds: 0 } });
      expect(rolled.status, show(rolled)).toBe(201);
      created.push(rolled.body.key as string);
      await create(c(), K.keys, [], "rocket \ud83d\ude80");
    });

    it("gives a roll's successor the scopes the key held when the roll took effect, when a scope cut races it", async () => {
      for (let i = 0; i < 8; i++) {
        const { id } = await create(c(), K.keys, ["vault:read", "vault:write"]);
        const [cut, roll] = await Promise.all([
          c().send({ method: "PATCH", path: keyPath(id), key: K.keys, json: { scopes: ["vault:read"] } }),
          c().send({ method: "POST", path: `${keyPath(id)}/roll`, key: K.keys, json: { grace_period_seconds: 3600 } }),
        ]);
        expect(cut.status, show(cut)).toBe(200);
        expect(roll.status, show(roll)).toBe(201);
        created.push(roll.body.key as string);
        // A cut answered on a key not yet rolled (no end) came first: the successor holds it.
        if (cut.body.expires_at === null) expect(roll.body.scopes, `attempt ${i}`).toEqual(["vault:read"]);
        else expect(roll.body.scopes).toEqual(["vault:read", "vault:write"]);
        const successor = await c().get(keyPath(roll.body.id as string), K.keys);
        expect(successor.body.scopes).toEqual(roll.body.scopes);
      }
    });

    it("answers 400 invalid_cursor to a cursor whose date does not exist (2026-02-30)", async () => {
      const cursor = Buffer.from(JSON.stringify({ created_at: "2026-02-30T10:00:00.000Z", id: randomUUID() })).toString("base64url");
      expectProblem(await c().get(`${KEYS}?cursor=${cursor}`, K.keys), "invalid_cursor");
    });

    it("refuses to start with a seed that lists one raw key under two ids, naming the entry, never the key", async () => {
      const seeded = createFixture();
      const first = seeded.seed.api_keys[0]!;
      const seed = { ...seeded.seed, api_keys: [...seeded.seed.api_keys, { ...first, id: randomUUID() }] };
      const n = seed.api_keys.length - 1;
      const started = startServerOn(variant, { framework, host: "127.0.0.1", port: 0, seed, pepper: "conformance-suite-pepper", log: () => {} });
      await expect(started).rejects.toThrow(`seed: api_keys[${n}].key is listed twice`);
      await started.catch((e: Error) => expect(e.message).not.toContain(first.key));
    });

    it("refuses to start with a seed whose key name or user email is not well-formed UTF-16", async () => {
      const seeded = createFixture();
      const [k0, ...keys] = seeded.seed.api_keys;
      const [u0, ...users] = seeded.seed.users;
      const badName = { ...seeded.seed, api_keys: [{ ...k0!, name: "x\ud800" }, ...keys] };
      const badEmail = { ...seeded.seed, users: [{ ...u0!, email: "\udc00@example.com" }, ...users] };
      const start = (seed: typeof seeded.seed) => startServerOn(variant, { framework, host: "127.0.0.1", port: 0, seed, pepper: "conformance-suite-pepper", log: () => {} });
      await expect(start(badName)).rejects.toThrow("seed: api_keys[0].name must be a string (well-formed UTF-16");
      await expect(start(badEmail)).rejects.toThrow("seed: users[0].email must be a string (well-formed UTF-16");
    });

    // Only a shared store outlives an instance: on memory there is nothing for a restart to undo.
    if (variant.name === "redis") it("keeps every revocation, roll and scope cut when another instance starts with the same seed and Redis prefix", async () => {
      const seeded = createFixture();
      const prefix = `conformance:${framework}:restart:${randomUUID()}`;
      const logs: string[][] = [];
      const start = (): Promise<RunningServer> => {
        const lines: string[] = [];
        logs.push(lines);
        return startServerOn(variant, { framework, host: "127.0.0.1", port: 0, seed: seeded.seed, pepper: "conformance-suite-pepper", log: (l) => lines.push(l), redisUrl: variant.url, redisKeyPrefix: prefix });
      };
      const servers: RunningServer[] = [];
      try {
        const first = await start();
        servers.push(first);
        const a = createClient(first.url);
        const S = seeded.keys;
        expect((await a.send({ method: "POST", path: `${keyPath(seeded.ids.readOnly)}/revoke`, key: S.keys })).status).toBe(200);
        const roll = await a.send({ method: "POST", path: `${keyPath(seeded.ids.vault)}/roll`, key: S.keys, json: { grace_period_seconds: 0 } });
        expect(roll.status, show(roll)).toBe(201);
        created.push(roll.body.key as string);
        expect((await a.send({ method: "PATCH", path: keyPath(seeded.ids.idem), key: S.keys, json: { scopes: ["vault:read"] } })).status).toBe(200);
        // A second instance with the same seed, then the first one restarted.
        const second = await start();
        servers.push(second);
        await first.close();
        const third = await start();
        servers.push(third);
        for (const url of [second.url, third.url]) {
          const b = createClient(url);
          expectProblem(await b.get(ME, S.readOnly), "api_key_revoked");
          expectProblem(await b.get(ME, S.vault), "api_key_expired");
          expect((await b.get(ME, roll.body.key as string)).status).toBe(200);
          const idem = await b.get(ME, S.idem);
          expect(idem.status, show(idem)).toBe(200);
          expect(idem.body.scopes).toEqual(["vault:read"]);
          expectProblem(await b.send({ method: "POST", path: `${keyPath(seeded.ids.vault)}/roll`, key: S.keys, json: { grace_period_seconds: 0 } }), "key_already_rolled");
          // Seeded once: no record is listed twice.
          const ids = (await allKeys(b, S.keys)).map((k) => k.id);
          expect(new Set(ids).size).toBe(ids.length);
        }
        // The first start inserted every seed record; each later one logs one line per record it left, by id only.
        const skipped = (lines: string[]) => lines.filter((l) => l.startsWith("seed: api key ") && l.endsWith(" is already stored; left as it is"));
        expect(skipped(logs[0]!)).toEqual([]);
        for (const lines of logs.slice(1)) {
          expect(skipped(lines).sort()).toEqual(seeded.seed.api_keys.map((k) => `seed: api key ${k.id} is already stored; left as it is`).sort());
          for (const k of seeded.seed.api_keys) expect(lines.join("\n")).not.toContain(k.key);
        }
      } finally {
        await Promise.all(servers.map((s) => s.close()));
        await deleteByPrefix(variant.url, prefix);
      }
    });
  });
}


import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ApiKeyRecord, KeyStore } from "../credentials";

/** What a key store implementation gives the suite. */
export interface KeyStoreHarness {
  readonly store: KeyStore;
  cleanup?(): Promise<void>;
}

function record(tenant: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const id = randomUUID();
  return {
    id,
    name: "Production Backend",
    prefix: "ak_live_AB7K",
    digest: `p1:${randomUUID()}`,
    user_id: randomUUID(),
    tenant_id: tenant,
    email: null,
    environment: "live",
    rate_limit_tier: "standard",
    scopes: ["vault:read", "vault:write"],
    created_at: "2026-04-02T10:12:34.000Z",
    expires_at: null,
    revoked_at: null,
    ...overrides,
  };
}

/** The `KeyStore` contract; `setup` runs before each test. */
export function keyStoreConformance(name: string, setup: () => Promise<KeyStoreHarness> | KeyStoreHarness): void {
  describe(`KeyStore conformance: ${name}`, () => {
    let h: KeyStoreHarness;
    let tenant: string;
    beforeEach(async () => {
      h = await setup();
      tenant = randomUUID();
    });
    afterEach(async () => {
      await h.cleanup?.();
    });

    it("finds a record by its exact digest only", async () => {
      const r = record(tenant, { email: "alex@example.com" });
      await h.store.put(r);
      expect(await h.store.findByDigest(r.digest)).toEqual(r);
      expect(await h.store.findByDigest(r.digest.slice(0, -1))).toBeNull();
      expect(await h.store.findByDigest(r.prefix)).toBeNull();
    });

    it("gets by id within the tenant only", async () => {
      const r = record(tenant);
      await h.store.put(r);
      expect(await h.store.get(tenant, r.id)).toEqual(r);
      expect(await h.store.get(randomUUID(), r.id)).toBeNull();
      expect(await h.store.get(tenant, randomUUID())).toBeNull();
    });

    it("replaces a record on put and forgets its old digest", async () => {
      const r = record(tenant);
      await h.store.put(r);
      const updated = { ...r, name: "Renamed", digest: `p1:${randomUUID()}`, revoked_at: "2026-05-01T00:00:00.000Z" };
      await h.store.put(updated);
      expect(await h.store.findByDigest(r.digest)).toBeNull();
      expect(await h.store.findByDigest(updated.digest)).toEqual(updated);
      expect(await h.store.get(tenant, r.id)).toEqual(updated);
    });

    it("touches last_used_at forward only, changing nothing else, and never across tenants", async () => {
      const r = record(tenant);
      await h.store.put(r);
      if (!h.store.touch) return expect(h.store.touch).toBeUndefined(); // optional: the policy then keeps no last_used_at
      await h.store.touch(tenant, r.id, "2026-05-01T10:00:00.000Z");
      expect(await h.store.get(tenant, r.id)).toEqual({ ...r, last_used_at: "2026-05-01T10:00:00.000Z" });
      await h.store.touch(tenant, r.id, "2026-05-01T09:00:00.000Z"); // older: ignored
      expect((await h.store.get(tenant, r.id))?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
      await h.store.touch(randomUUID(), r.id, "2026-05-02T00:00:00.000Z"); // another tenant: ignored
      await h.store.touch(tenant, randomUUID(), "2026-05-02T00:00:00.000Z"); // unknown id: ignored
      expect((await h.store.get(tenant, r.id))?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
      expect((await h.store.list(tenant))[0]?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
    });

    it("keeps a touch that lands between another writer's read and put (a revoke never loses it, a touch never undoes a revoke)", async () => {
      const r = record(tenant);
      await h.store.put(r);
      if (!h.store.touch) return;
      const read = await h.store.get(tenant, r.id); // a key manager reads...
      await h.store.touch(tenant, r.id, "2026-05-01T10:00:00.000Z"); // ...a request touches...
      await h.store.put({ ...read!, revoked_at: "2026-05-01T10:00:01.000Z" }); // ...the manager revokes.
      const after = await h.store.get(tenant, r.id);
      expect(after?.revoked_at).toBe("2026-05-01T10:00:01.000Z");
      expect(after?.last_used_at).toBe("2026-05-01T10:00:00.000Z");
      await h.store.touch(tenant, r.id, "2026-05-01T10:05:00.000Z");
      expect((await h.store.get(tenant, r.id))?.revoked_at).toBe("2026-05-01T10:00:01.000Z");
    });

    it("patches fields atomically: the first revocation stands, expiry only moves earlier, other fields kept", async () => {
      const r = record(tenant, { expires_at: "2030-01-01T00:00:00.000Z" });
      await h.store.put(r);
      if (!h.store.patch) return expect(h.store.patch).toBeUndefined(); // optional: createKeyManager then refuses the store
      const renamed = await h.store.patch(tenant, r.id, { name: "Renamed", scopes: ["vault:read"] });
      expect(renamed).toEqual({ applied: true, record: { ...r, name: "Renamed", scopes: ["vault:read"] } });
      await h.store.patch(tenant, r.id, { revokedAt: "2026-05-01T00:00:00.000Z" });
      await h.store.patch(tenant, r.id, { revokedAt: "2026-06-01T00:00:00.000Z", expiresBy: "2031-01-01T00:00:00.000Z" });
      const after = await h.store.get(tenant, r.id);
      expect(after).toMatchObject({ name: "Renamed", revoked_at: "2026-05-01T00:00:00.000Z", expires_at: "2030-01-01T00:00:00.000Z", digest: r.digest });
      await h.store.patch(tenant, r.id, { expiresBy: "2029-01-01T00:00:00.000Z" });
      expect((await h.store.get(tenant, r.id))?.expires_at).toBe("2029-01-01T00:00:00.000Z");
      expect(await h.store.findByDigest(r.digest)).toMatchObject({ id: r.id, revoked_at: "2026-05-01T00:00:00.000Z" });
    });

    it("applies a guarded patch only while the guard holds, and never across tenants", async () => {
      const r = record(tenant);
      await h.store.put(r);
      if (!h.store.patch) return;
      const guard = { expires_at: null, revoked_at: null };
      expect((await h.store.patch(tenant, r.id, { expiresBy: "2027-01-01T00:00:00.000Z", ifUnchanged: guard }))?.applied).toBe(true);
      const second = await h.store.patch(tenant, r.id, { expiresBy: "2026-12-01T00:00:00.000Z", ifUnchanged: guard });
      expect(second?.applied).toBe(false);
      expect(second?.record.expires_at).toBe("2027-01-01T00:00:00.000Z");
      expect(await h.store.patch(randomUUID(), r.id, { revokedAt: "2026-05-01T00:00:00.000Z" })).toBeNull();
      expect(await h.store.patch(tenant, randomUUID(), { revokedAt: "2026-05-01T00:00:00.000Z" })).toBeNull();
      expect((await h.store.get(tenant, r.id))?.revoked_at).toBeNull();
    });

    it("keeps every one of many concurrent patches of one key", async () => {
      const r = record(tenant);
      await h.store.put(r);
      if (!h.store.patch) return;
      await Promise.all([
        h.store.patch(tenant, r.id, { revokedAt: "2026-05-01T00:00:00.000Z" }),
        h.store.patch(tenant, r.id, { name: "N1" }),
        h.store.patch(tenant, r.id, { scopes: ["chat:read"] }),
        h.store.patch(tenant, r.id, { expiresBy: "2028-01-01T00:00:00.000Z" }),
        h.store.touch?.(tenant, r.id, "2026-05-02T00:00:00.000Z"),
      ]);
      expect(await h.store.get(tenant, r.id)).toMatchObject({
        name: "N1",
        scopes: ["chat:read"],
        revoked_at: "2026-05-01T00:00:00.000Z",
        expires_at: "2028-01-01T00:00:00.000Z",
        ...(h.store.touch ? { last_used_at: "2026-05-02T00:00:00.000Z" } : {}),
      });
    });

    it("lists a tenant's keys newest first", async () => {
      const a = record(tenant, { created_at: "2026-04-01T00:00:00.000Z" });
      const b = record(tenant, { created_at: "2026-04-03T00:00:00.000Z" });
      const c = record(tenant, { created_at: "2026-04-02T00:00:00.000Z" });
      await h.store.put(a);
      await h.store.put(b);
      await h.store.put(c);
      await h.store.put(record(randomUUID()));
      expect((await h.store.list(tenant)).map((r) => r.id)).toEqual([b.id, c.id, a.id]);
    });
  });
}

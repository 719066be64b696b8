import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { eachTest } from "./harness";
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
    let h: KeyStoreHarness, tenant: string;
    eachTest(setup, (harness, tenantId) => ((h = harness), (tenant = tenantId)));

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

    it("inserts a record only when neither its id nor its digest is stored: a second insert never overwrites", async () => {
      if (!h.store.insert) return expect(h.store.insert).toBeUndefined(); // optional: createKeyManager then refuses the store
      const r = record(tenant, { scopes: ["vault:read", "vault:write", "chat:read"].sort() });
      expect(await h.store.insert(r)).toBe("inserted");
      expect(await h.store.get(tenant, r.id)).toEqual(r);
      expect(await h.store.findByDigest(r.digest)).toEqual(r);
      await h.store.patch?.(tenant, r.id, { revokedAt: "2026-05-01T00:00:00.000Z", scopes: ["vault:read"] });
      const changed = await h.store.get(tenant, r.id);
      // The seed again: same id and digest, as it was first written.
      expect(await h.store.insert(r)).toBe("exists");
      expect(await h.store.insert({ ...r, name: "Overwritten", digest: `p1:${randomUUID()}` })).toBe("exists");
      expect(await h.store.get(tenant, r.id)).toEqual(changed);
      // Another id with the same digest: refused, and the digest still finds the first record.
      const twin = record(tenant, { digest: r.digest });
      expect(await h.store.insert(twin)).toBe("exists");
      expect(await h.store.get(tenant, twin.id)).toBeNull();
      expect((await h.store.findByDigest(r.digest))?.id).toBe(r.id);
      // The same id in another tenant: refused; the record stays in its tenant.
      expect(await h.store.insert({ ...record(randomUUID()), id: r.id })).toBe("exists");
      expect(await h.store.get(tenant, r.id)).toEqual(changed);
      expect((await h.store.list(tenant)).map((x) => x.id)).toEqual([r.id]);
    });

    it("stores a record once when many inserts of it race", async () => {
      if (!h.store.insert) return;
      const r = record(tenant);
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => h.store.insert!(r)));
      expect(outcomes.filter((o) => o === "inserted")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "exists")).toHaveLength(19);
      expect(await h.store.list(tenant)).toEqual([r]);
    });

    it("caps the tenant's active keys at insert time, atomically: revoked and expired keys and other tenants do not count", async () => {
      if (!h.store.insert) return;
      const nowMs = Date.parse("2026-06-01T00:00:00.000Z");
      const activeLimit = { max: 5, nowMs };
      await h.store.insert(record(tenant, { revoked_at: "2026-05-01T00:00:00.000Z" }));
      await h.store.insert(record(tenant, { expires_at: "2026-05-31T23:59:59.999Z" }));
      await h.store.insert(record(tenant, { expires_at: "2026-06-01T00:00:00.000Z" })); // ends at now: expired
      for (let i = 0; i < 3; i++) await h.store.insert(record(randomUUID())); // other tenants
      const racing = Array.from({ length: 20 }, () => record(tenant, { expires_at: "2027-01-01T00:00:00.000Z" }));
      const outcomes = await Promise.all(racing.map((r) => h.store.insert!(r, { activeLimit })));
      expect(outcomes.filter((o) => o === "inserted")).toHaveLength(5);
      expect(outcomes.filter((o) => o === "limit_reached")).toHaveLength(15);
      const refused = racing.filter((_, i) => outcomes[i] === "limit_reached");
      for (const r of refused.slice(0, 3)) {
        expect(await h.store.get(tenant, r.id)).toBeNull();
        expect(await h.store.findByDigest(r.digest)).toBeNull();
      }
      expect(await h.store.list(tenant)).toHaveLength(8);
      // A refused record can be inserted once a slot is free: a revocation or an earlier end frees one.
      const kept = racing.filter((_, i) => outcomes[i] === "inserted");
      const next = refused[0]!;
      expect(await h.store.insert(next, { activeLimit })).toBe("limit_reached");
      if (h.store.patch) {
        await h.store.patch(tenant, kept[0]!.id, { revokedAt: "2026-05-20T00:00:00.000Z" });
        expect(await h.store.insert(next, { activeLimit })).toBe("inserted");
        expect(await h.store.insert(refused[1]!, { activeLimit })).toBe("limit_reached");
        await h.store.patch(tenant, kept[1]!.id, { expiresBy: "2026-05-30T00:00:00.000Z" });
        expect(await h.store.insert(refused[1]!, { activeLimit })).toBe("inserted");
        // Ending later than now keeps it counted.
        await h.store.patch(tenant, kept[2]!.id, { expiresBy: "2026-06-02T00:00:00.000Z" });
        expect(await h.store.insert(refused[2]!, { activeLimit })).toBe("limit_reached");
      }
      // Later, the keys that end before it no longer count.
      expect(await h.store.insert(refused[2]!, { activeLimit: { max: 5, nowMs: Date.parse("2026-06-03T00:00:00.000Z") } })).toBe("inserted");
      // Without a limit nothing is counted (seeds, a roll's successor).
      expect(await h.store.insert(refused[3]!)).toBe("inserted");
      // Another tenant starts empty.
      expect(await h.store.insert(record(randomUUID()), { activeLimit: { max: 1, nowMs } })).toBe("inserted");
    });

    it("reports applied only for a patch that changed something, and writes nothing otherwise", async () => {
      const r = record(tenant, { expires_at: "2030-01-01T00:00:00.000Z" });
      await h.store.put(r);
      if (!h.store.patch) return;
      expect(await h.store.patch(tenant, r.id, { name: r.name })).toEqual({ applied: false, record: r });
      expect(await h.store.patch(tenant, r.id, { scopes: [...r.scopes] })).toEqual({ applied: false, record: r });
      expect(await h.store.patch(tenant, r.id, { expiresBy: "2031-01-01T00:00:00.000Z" })).toEqual({ applied: false, record: r });
      expect(await h.store.patch(tenant, r.id, { expiresBy: r.expires_at! })).toEqual({ applied: false, record: r });
      expect(await h.store.patch(tenant, r.id, {})).toEqual({ applied: false, record: r });
      const revoked = await h.store.patch(tenant, r.id, { revokedAt: "2026-05-01T00:00:00.000Z" });
      expect(revoked?.applied).toBe(true);
      const again = await h.store.patch(tenant, r.id, { revokedAt: "2026-06-01T00:00:00.000Z" });
      expect(again).toEqual({ applied: false, record: revoked!.record });
      // An empty scope set is a change, stored and read back as an empty list.
      const emptied = await h.store.patch(tenant, r.id, { scopes: [] });
      expect(emptied).toEqual({ applied: true, record: { ...revoked!.record, scopes: [] } });
      expect((await h.store.get(tenant, r.id))?.scopes).toEqual([]);
      expect((await h.store.findByDigest(r.digest))?.scopes).toEqual([]);
      expect((await h.store.list(tenant))[0]?.scopes).toEqual([]);
      expect((await h.store.patch(tenant, r.id, { scopes: [] }))?.applied).toBe(false);
    });

    it("applies a patch guarded by ifScopesWithin only while every scope of the key is in the set", async () => {
      const r = record(tenant, { scopes: ["chat:read", "vault:read"] });
      await h.store.put(r);
      if (!h.store.patch) return;
      expect(await h.store.patch(tenant, r.id, { scopes: [], revokedAt: "2026-05-01T00:00:00.000Z", ifScopesWithin: ["vault:read", "vault:write"] })).toEqual({ applied: false, record: r });
      expect(await h.store.patch(tenant, r.id, { scopes: [], ifScopesWithin: [] })).toEqual({ applied: false, record: r });
      const cut = await h.store.patch(tenant, r.id, { scopes: [], ifScopesWithin: ["chat:read", "keys:write", "vault:read"] });
      expect(cut).toEqual({ applied: true, record: { ...r, scopes: [] } });
      expect((await h.store.patch(tenant, r.id, { name: "Renamed", ifScopesWithin: [] }))?.applied).toBe(true); // no scopes left to hold
    });

    it("records one successor: of many racing patches that set one, exactly one applies, with its end", async () => {
      const r = record(tenant);
      await h.store.put(r);
      if (!h.store.patch) return;
      const successors = Array.from({ length: 20 }, () => randomUUID());
      const results = await Promise.all(
        successors.map((successorId, i) => h.store.patch!(tenant, r.id, { successorId, expiresBy: `2027-01-01T00:00:${String(i).padStart(2, "0")}.000Z` })),
      );
      const won = results.filter((x) => x?.applied);
      expect(won).toHaveLength(1);
      const winner = won[0]!.record;
      expect(successors).toContain(winner.successor_id);
      const after = await h.store.get(tenant, r.id);
      expect(after).toMatchObject({ successor_id: winner.successor_id, expires_at: winner.expires_at });
      for (const lost of results.filter((x) => !x?.applied)) expect(lost?.record.successor_id).toBe(winner.successor_id);
      // Later: refused whatever else it carries, and nothing of it is written.
      const late = await h.store.patch(tenant, r.id, { successorId: randomUUID(), expiresBy: "2026-01-01T00:00:00.000Z", name: "Late" });
      expect(late?.applied).toBe(false);
      expect(await h.store.get(tenant, r.id)).toEqual(after);
      // Other changes still apply.
      expect((await h.store.patch(tenant, r.id, { name: "Renamed" }))?.record).toMatchObject({ name: "Renamed", successor_id: winner.successor_id });
    });

    it("guards a patch on the name and scopes too: a roll never records a successor over a rename or a scope cut", async () => {
      const r = record(tenant, { predecessor_id: randomUUID() });
      await h.store.put(r);
      if (!h.store.patch) return;
      expect((await h.store.get(tenant, r.id))?.predecessor_id).toBe(r.predecessor_id);
      const guard = { expires_at: null, revoked_at: null, name: r.name, scopes: r.scopes };
      expect((await h.store.patch(tenant, r.id, { scopes: ["vault:read"] }))?.applied).toBe(true);
      const cut = await h.store.patch(tenant, r.id, { successorId: randomUUID(), expiresBy: "2027-01-01T00:00:00.000Z", ifUnchanged: guard });
      expect(cut?.applied).toBe(false);
      expect(await h.store.get(tenant, r.id)).toMatchObject({ scopes: ["vault:read"], expires_at: null });
      expect((await h.store.get(tenant, r.id))?.successor_id ?? null).toBeNull();
      expect((await h.store.patch(tenant, r.id, { name: "Renamed" }))?.applied).toBe(true);
      const renamed = await h.store.patch(tenant, r.id, { successorId: randomUUID(), ifUnchanged: { ...guard, scopes: ["vault:read"] } });
      expect(renamed?.applied).toBe(false);
      const fresh = await h.store.patch(tenant, r.id, {
        successorId: "s1",
        expiresBy: "2027-01-01T00:00:00.000Z",
        ifUnchanged: { expires_at: null, revoked_at: null, name: "Renamed", scopes: ["vault:read"] },
      });
      expect(fresh?.applied).toBe(true);
      expect(fresh?.record).toMatchObject({ successor_id: "s1", name: "Renamed", scopes: ["vault:read"] });
    });

    it("removes an unused record only under its strict condition, with every index of it", async () => {
      if (!h.store.removeUnused || !h.store.insert) return;
      const keep = record(tenant);
      const r = record(tenant, { created_at: "2026-04-03T00:00:00.000Z" });
      expect(await h.store.insert(keep)).toBe("inserted");
      expect(await h.store.insert(r)).toBe("inserted");
      // Another tenant, another digest, an unknown id: nothing.
      expect(await h.store.removeUnused(randomUUID(), r.id, r.digest)).toBe(false);
      expect(await h.store.removeUnused(tenant, r.id, `p1:${randomUUID()}`)).toBe(false);
      expect(await h.store.removeUnused(tenant, randomUUID(), r.digest)).toBe(false);
      expect(await h.store.get(tenant, r.id)).toEqual(r);
      // Used, rolled or revoked: kept.
      const used = record(tenant);
      await h.store.insert(used);
      if (h.store.touch) {
        await h.store.touch(tenant, used.id, "2026-05-01T00:00:00.000Z");
        expect(await h.store.removeUnused(tenant, used.id, used.digest)).toBe(false);
      }
      const rolled = record(tenant, { successor_id: randomUUID() });
      const revoked = record(tenant, { revoked_at: "2026-05-01T00:00:00.000Z" });
      await h.store.insert(rolled);
      await h.store.insert(revoked);
      expect(await h.store.removeUnused(tenant, rolled.id, rolled.digest)).toBe(false);
      expect(await h.store.removeUnused(tenant, revoked.id, revoked.digest)).toBe(false);
      expect(await h.store.get(tenant, rolled.id)).toEqual(rolled);
      expect(await h.store.get(tenant, revoked.id)).toEqual(revoked);
      // Unused: gone from every lookup, the list (pages included) and the cap's count.
      expect(await h.store.removeUnused(tenant, r.id, r.digest)).toBe(true);
      expect(await h.store.removeUnused(tenant, r.id, r.digest)).toBe(false);
      expect(await h.store.get(tenant, r.id)).toBeNull();
      expect(await h.store.findByDigest(r.digest)).toBeNull();
      const ids = (await h.store.list(tenant)).map((x) => x.id);
      expect(ids).not.toContain(r.id);
      expect(ids).toContain(keep.id);
      expect((await h.store.list(tenant, { limit: 1 }))[0]?.id).not.toBe(r.id);
      const now = Date.parse("2026-06-01T00:00:00.000Z");
      const active = (await h.store.list(tenant)).filter((x) => x.revoked_at === null).length;
      expect(await h.store.insert(record(tenant), { activeLimit: { max: active + 1, nowMs: now } })).toBe("inserted");
      // Its id and digest are free again.
      expect(await h.store.insert(r)).toBe("inserted");
      expect(await h.store.findByDigest(r.digest)).toEqual(r);
    });

    it("pages a tenant's keys inside the store: limit and position, ties broken by id, stable while keys are created", async () => {
      const at = (s: number) => `2026-04-0${1 + Math.floor(s / 10)}T00:00:0${s % 10}.000Z`;
      const made: ApiKeyRecord[] = [];
      for (let i = 0; i < 12; i++) {
        const r = record(tenant, { created_at: at(i % 4 === 3 ? i - 1 : i) }); // some share a created_at
        made.push(r);
        await (h.store.insert ? h.store.insert(r) : h.store.put(r));
      }
      await h.store.put(record(randomUUID(), { created_at: at(5) })); // another tenant, interleaved
      const expected = [...made].sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1)).map((r) => r.id);
      expect((await h.store.list(tenant)).map((r) => r.id)).toEqual(expected);
      const walked: string[] = [];
      let after: { created_at: string; id: string } | null = null;
      for (let page = 0; page < 10; page++) {
        const got = await h.store.list(tenant, { limit: 5, after });
        expect(got.length).toBeLessThanOrEqual(5);
        walked.push(...got.map((r) => r.id));
        if (page === 0) {
          // Created while the client pages: newer than its position, so later pages do not move.
          await h.store.put(record(tenant, { created_at: "2026-05-01T00:00:00.000Z" }));
          if (h.store.insert) await h.store.insert(record(tenant, { created_at: "2026-05-02T00:00:00.000Z" }));
        }
        const last = got[got.length - 1];
        if (got.length < 5 || !last) break;
        after = { created_at: last.created_at, id: last.id };
      }
      expect(walked).toEqual(expected);
      // A position given with another offset or fraction is the same instant.
      const third = made.find((r) => r.id === expected[2])!;
      const sameInstant = { created_at: third.created_at.replace(".000Z", "+00:00"), id: third.id };
      expect((await h.store.list(tenant, { limit: 2, after: sameInstant })).map((r) => r.id)).toEqual(expected.slice(3, 5));
      // A position that is no record's, and one past the end.
      expect((await h.store.list(tenant, { limit: 100, after: { created_at: at(6), id: "" } })).map((r) => r.id)).toEqual(expected.filter((id) => Date.parse(made.find((r) => r.id === id)!.created_at) < Date.parse(at(6))));
      expect(await h.store.list(tenant, { limit: 3, after: { created_at: "2000-01-01T00:00:00.000Z", id: "z" } })).toEqual([]);
      expect(await h.store.list(randomUUID(), { limit: 3 })).toEqual([]);
      // A page carries what get answers, last_used_at included.
      if (h.store.touch) await h.store.touch(tenant, expected[0]!, "2026-06-01T00:00:00.000Z");
      const [top] = await h.store.list(tenant, { limit: 1, after: { created_at: "2026-04-30T00:00:00.000Z", id: "" } });
      expect(top).toEqual(await h.store.get(tenant, expected[0]!));
    });

    it("moves a record in the order when put changes its created_at", async () => {
      const a = record(tenant, { created_at: "2026-04-01T00:00:00.000Z" });
      const b = record(tenant, { created_at: "2026-04-02T00:00:00.000Z" });
      await h.store.put(a);
      await h.store.put(b);
      await h.store.put({ ...a, created_at: "2026-04-03T00:00:00.000Z" });
      expect((await h.store.list(tenant, { limit: 1 })).map((r) => r.id)).toEqual([a.id]);
      expect((await h.store.list(tenant)).map((r) => r.id)).toEqual([a.id, b.id]);
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

import { isWellFormedText, type ApiKeyRecord, type KeyStore } from "@alloovium/core";
import {
  laterTime,
  type KeyInsertOptions,
  type KeyInsertOutcome,
  type KeyListOptions,
  type KeyPatch,
  type KeyPatchResult,
} from "@alloovium/core/store-kit";
import { Connection } from "./connection";
import { KeyLayout } from "./keys";
import { checkBase, type RedisStoreBaseOptions } from "./options";
import { DELETE_IF_SCRIPT, INSERT_KEY_SCRIPT, REMOVE_UNUSED_KEY_SCRIPT, LIST_KEYS_SCRIPT, PATCH_KEY_SCRIPT, PUT_KEY_SCRIPT, SWAP_STRING_SCRIPT, TOUCH_SCRIPT } from "./scripts";

/** Options of `RedisKeyStore`. A key store always fails closed: a lookup that fails throws. */
export type RedisKeyStoreOptions = RedisStoreBaseOptions;

interface Commands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, nx?: "NX"): Promise<unknown>;
  hget(key: string, field: string): Promise<string | null>;
  publish(channel: string, message: string): Promise<number>;
  pipeline(): Pipeline;
}

interface Pipeline {
  hget(key: string, field: string): Pipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

// The ISO 8601 forms a stored time may take: what `Date.parse` and the scripts read alike.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
// Members of the `order` index: created_at in ms, offset so that year 0 is 0, in 15 digits.
const ORDER_OFFSET_MS = 62_167_219_200_000;

/**
 * A `KeyStore` on Redis. A tenant's records are one hash (`{tenant}:keys`, id -> JSON) with two
 * indexes in the same slot, kept in step by the scripts that write records: `keys:order`
 * (newest first, so a list page costs its limit, not the tenant's key count) and `keys:active`
 * (ids not revoked, scored by expiry: the active-key cap counts it in the insert's script). A
 * digest index (`kd:<digest>` -> tenant and id) finds a record by its exact digest, and a lookup
 * checks that the record still carries that digest, so a stale index entry never matches.
 * Every write publishes the digests it changed on `${prefix}:key-invalidations` for
 * `watchKeyInvalidations`.
 *
 * On Cluster the index keys live outside the tenant's slot, so writes go in an order that is
 * safe at every step: (1) the id index (`kid:<id>`, which keeps a key in its tenant) and the new
 * digest's index entry, which match nothing until (2) one script in the tenant's slot writes
 * the record and its indexes (now the old digest stops matching and the new one matches), then
 * (3) the old digest's index entry is deleted and (4) the digests are published. A crash
 * between steps leaves only index entries that match nothing. `insert` takes index entries
 * only when free (or stale) and gives back the ones it took when it stores nothing.
 *
 * `patch` is one script: it reads the record, applies the patch (core's `applyKeyPatch`
 * semantics) and writes it, so concurrent changes from any number of processes all hold and
 * none is retried.
 *
 * `last_used_at` lives apart from the records, in `{tenant}:keys:used` (id -> ISO time), moved
 * only forward by `touch` and only for an id the tenant holds; `get`, `list` and `findByDigest`
 * (through `get`) answer the later of it and the record's own, read in the same round trip. So
 * a touch never rewrites a record (it cannot undo a revoke), and a `put` of a record read
 * before a touch never loses it.
 *
 * Stored times (`created_at`, `expires_at`, `revoked_at`, a patch's times) must be ISO 8601 as
 * `2026-04-02T10:12:34.000Z` (an offset instead of `Z` and 1-9 fraction digits are accepted).
 * @example
 * const keyStore = new RedisKeyStore({ client: new Redis() });
 * const record = await keyStore.findByDigest(hasher.digest(rawKey));
 */
export class RedisKeyStore implements KeyStore {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #c: Commands;

  constructor(options: RedisKeyStoreOptions) {
    const { prefix, timeoutMs } = checkBase("RedisKeyStore", options);
    this.#conn = new Connection(options.client, timeoutMs);
    this.#keys = new KeyLayout(prefix);
    this.#c = options.client as unknown as Commands;
  }

  /** The invalidation channel `put` publishes on. */
  get channel(): string {
    return this.#keys.channel;
  }

  async findByDigest(digest: string): Promise<ApiKeyRecord | null> {
    const pointer = await this.#conn.command("findByDigest", () => this.#c.get(this.#keys.digestIndex(digest)));
    if (pointer === null) return null;
    const [tenantId, id] = JSON.parse(pointer) as [string, string];
    const record = await this.get(tenantId, id);
    return record && record.digest === digest ? record : null;
  }

  async get(tenantId: string, id: string): Promise<ApiKeyRecord | null> {
    const k = this.#keys;
    const [json, used] = await this.#conn.command("get", () =>
      exec<[string | null, string | null]>(this.#c.pipeline().hget(k.keyRecords(tenantId), id).hget(k.keysUsed(tenantId), id)),
    );
    if (json === null) return null;
    const record = JSON.parse(json) as ApiKeyRecord;
    // A record the scripts cannot decode (an earlier version's, see scripts.ts) is absent here
    // too, as for `list` and `patch`: never half there.
    if (record.tenant_id !== tenantId || !wellFormed(record)) return null;
    return withLastUsed(record, used);
  }

  /** One script: a page from the tenant's `order` index and the records it names. */
  async list(tenantId: string, options: KeyListOptions = {}): Promise<ApiKeyRecord[]> {
    const { limit, after } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new RangeError("RedisKeyStore.list: `limit` must be an integer >= 1");
    let upper = "+";
    if (after) {
      const ms = Date.parse(after.created_at);
      if (!Number.isFinite(ms)) throw new TypeError("RedisKeyStore.list: `after.created_at` must be an ISO 8601 time");
      upper = `(${orderMember(ms, after.id)}`;
    }
    const k = this.#keys;
    const reply = (await this.#conn.script(
      LIST_KEYS_SCRIPT,
      [k.keyRecords(tenantId), k.keysUsed(tenantId), k.keyOrder(tenantId), k.keysActive(tenantId)],
      [upper, limit ?? -1],
    )) as string[];
    const out: ApiKeyRecord[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      const record = JSON.parse(reply[i]!) as ApiKeyRecord;
      if (record.tenant_id === tenantId) out.push(withLastUsed(record, reply[i + 1]));
    }
    return out;
  }

  /**
   * Moves the key's `last_used_at` forward to `at` (one script; unknown ids and older times
   * change nothing). `at` is stored as `Date#toISOString` writes it.
   */
  async touch(tenantId: string, id: string, at: string): Promise<void> {
    const ms = Date.parse(at);
    if (!Number.isFinite(ms)) throw new TypeError("RedisKeyStore.touch: `at` must be an ISO 8601 time");
    const iso = new Date(ms).toISOString();
    if (iso.length !== 24) throw new TypeError("RedisKeyStore.touch: `at` must be between the years 0 and 9999");
    await this.#conn.script(TOUCH_SCRIPT, [this.#keys.keyRecords(tenantId), this.#keys.keysUsed(tenantId)], [id, iso]);
  }

  /**
   * Field-level change (revoke, rename, end, successor) in one script that reads, applies and
   * writes the record, so it never loses to a concurrent change and never retries. Publishes
   * the digest when applied.
   */
  async patch(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null> {
    for (const field of ["revokedAt", "expiresBy"] as const) {
      const v = patch[field];
      if (v !== undefined) checkTime(`patch.${field}`, v);
    }
    checkText("patch", patch);
    const k = this.#keys;
    const body = JSON.stringify({
      name: patch.name,
      scopes: patch.scopes,
      revokedAt: patch.revokedAt,
      expiresBy: patch.expiresBy,
      successorId: patch.successorId,
      ifUnchanged: patch.ifUnchanged,
      ifScopesWithin: patch.ifScopesWithin,
    });
    const reply = (await this.#conn.script(PATCH_KEY_SCRIPT, [k.keyRecords(tenantId), k.keysUsed(tenantId), k.keysActive(tenantId)], [id, tenantId, body])) as [
      number,
      string?,
      string?,
    ];
    if (reply[0] === 0 || reply[1] === undefined) return null;
    const record = withLastUsed(JSON.parse(reply[1]) as ApiKeyRecord, reply[2]);
    if (reply[0] !== 2) return { applied: false, record };
    await this.#conn.command("patch", () => this.#c.publish(k.channel, record.digest));
    return { applied: true, record };
  }

  /**
   * `KeyStore.removeUnused`: one script in the tenant's slot deletes the record (with its index
   * members and last-used time) under the condition, then its digest and id index entries go,
   * each only while it still points at this record: at every step nothing matches the key.
   */
  async removeUnused(tenantId: string, id: string, digest: string): Promise<boolean> {
    const k = this.#keys;
    const removed = await this.#conn.script(REMOVE_UNUSED_KEY_SCRIPT, [k.keyRecords(tenantId), k.keysUsed(tenantId), k.keyOrder(tenantId), k.keysActive(tenantId)], [
      id,
      tenantId,
      digest,
    ]);
    if (removed !== 1) return false;
    await this.#conn.script(DELETE_IF_SCRIPT, [k.digestIndex(digest)], [JSON.stringify([tenantId, id])]);
    await this.#conn.script(DELETE_IF_SCRIPT, [k.idIndex(id)], [tenantId]);
    await this.#conn.command("removeUnused", () => this.#c.publish(k.channel, digest));
    return true;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    checkRecord("put", record);
    const k = this.#keys;
    const tenant = record.tenant_id;
    const owner = await this.#conn.command("put", () => this.#c.get(k.idIndex(record.id)));
    if (owner !== null && owner !== tenant) throw new Error("RedisKeyStore.put: a key cannot move to another tenant");
    if (owner === null) await this.#conn.command("put", () => this.#c.set(k.idIndex(record.id), tenant));
    const pointer = JSON.stringify([tenant, record.id]);
    await this.#conn.command("put", () => this.#c.set(k.digestIndex(record.digest), pointer));
    const old = (await this.#conn.script(PUT_KEY_SCRIPT, [k.keyRecords(tenant), k.keyOrder(tenant), k.keysActive(tenant)], [record.id, recordJson(record)])) as string | null;
    const digests = [record.digest];
    const oldDigest = old === null ? null : (JSON.parse(old) as ApiKeyRecord).digest;
    if (oldDigest !== null && oldDigest !== record.digest) {
      digests.push(oldDigest);
      await this.#conn.script(DELETE_IF_SCRIPT, [k.digestIndex(oldDigest)], [pointer]);
    }
    await this.#conn.command("put", () => this.#c.publish(k.channel, digests.join("\n")));
  }

  /**
   * Stores a new record, never replacing one (`KeyStore.insert`): the id index and the digest
   * index are taken only when free (or, for a digest, when no record carries it any more), then
   * one script in the tenant's slot refuses an id already stored, decides the active-key cap
   * and writes the record with its indexes. Index entries taken for a record not stored are
   * given back.
   */
  async insert(record: ApiKeyRecord, options: KeyInsertOptions = {}): Promise<KeyInsertOutcome> {
    checkRecord("insert", record);
    const limit = options.activeLimit;
    if (limit && (!Number.isSafeInteger(limit.max) || limit.max < 0 || !Number.isFinite(limit.nowMs))) {
      throw new RangeError("RedisKeyStore.insert: `activeLimit` needs an integer `max` >= 0 and a finite `nowMs`");
    }
    const k = this.#keys;
    const tenant = record.tenant_id;
    const tookId = (await this.#conn.command("insert", () => this.#c.set(k.idIndex(record.id), tenant, "NX"))) === "OK";
    if (!tookId && (await this.#conn.command("insert", () => this.#c.get(k.idIndex(record.id)))) !== tenant) return "exists";
    const pointer = JSON.stringify([tenant, record.id]);
    const digest = await this.#takeDigest(record.digest, pointer);
    if (digest === "held") {
      if (tookId) await this.#conn.script(DELETE_IF_SCRIPT, [k.idIndex(record.id)], [tenant]);
      return "exists";
    }
    const outcome = (await this.#conn.script(
      INSERT_KEY_SCRIPT,
      [k.keyRecords(tenant), k.keyOrder(tenant), k.keysActive(tenant)],
      [record.id, recordJson(record), limit ? String(limit.max) : "", limit ? String(Math.floor(limit.nowMs)) : "0"],
    )) as KeyInsertOutcome;
    if (outcome === "inserted") {
      await this.#conn.command("insert", () => this.#c.publish(k.channel, record.digest));
      return outcome;
    }
    // Nothing stored: give back what was taken, unless a record with this id and digest exists
    // (a concurrent insert of the same record, which needs both entries).
    const holder = await this.get(tenant, record.id);
    if (digest === "taken" && holder?.digest !== record.digest) await this.#conn.script(DELETE_IF_SCRIPT, [k.digestIndex(record.digest)], [pointer]);
    if (tookId && holder === null) await this.#conn.script(DELETE_IF_SCRIPT, [k.idIndex(record.id)], [tenant]);
    return outcome;
  }

  /**
   * Points the digest index at `pointer`: `taken` when this call wrote it, `ours` when it
   * already pointed there, `held` when another record carries the digest.
   */
  async #takeDigest(digest: string, pointer: string): Promise<"taken" | "ours" | "held"> {
    const key = this.#keys.digestIndex(digest);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.#conn.command("insert", () => this.#c.set(key, pointer, "NX"))) === "OK") return "taken";
      const current = await this.#conn.command("insert", () => this.#c.get(key));
      if (current === pointer) return "ours";
      if (current !== null) {
        const [tenantId, id] = JSON.parse(current) as [string, string];
        if ((await this.get(tenantId, id))?.digest === digest) return "held";
      }
      // A stale entry (a crash between steps, or a record that moved to another digest): take it
      // over unless another insert did meanwhile.
      if ((await this.#conn.script(SWAP_STRING_SCRIPT, [key], [current ?? "", pointer])) === 1) return "taken";
    }
    return "held";
  }
}

/** A record as stored: its fields as given, scopes as a list. */
function recordJson(record: ApiKeyRecord): string {
  return JSON.stringify({ ...record, scopes: [...record.scopes] });
}

function checkTime(what: string, v: unknown): void {
  if (typeof v !== "string" || !ISO_TIME.test(v) || Number.isNaN(Date.parse(v))) {
    throw new TypeError(`RedisKeyStore: \`${what}\` must be an ISO 8601 time like 2026-04-02T10:12:34.000Z`);
  }
}

/**
 * Whether every string, at any depth, is well-formed UTF-16 (a lone surrogate: JSON.stringify
 * escapes it as \ud800 and the scripts' cjson refuses it).
 */
function wellFormed(value: unknown): boolean {
  if (typeof value === "string") return isWellFormedText(value);
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value !== null && typeof value === "object") return Object.entries(value).every(([k, v]) => wellFormed(k) && wellFormed(v));
  return true;
}

/** Refuses (TypeError) a value holding a string that is not well-formed UTF-16. */
function checkText(what: string, value: unknown): void {
  if (!wellFormed(value)) throw new TypeError(`RedisKeyStore: ${what} holds a lone UTF-16 surrogate (not storable)`);
}

function checkRecord(what: string, record: ApiKeyRecord): void {
  checkText(what, record);
  checkTime(`${what}: created_at`, record.created_at);
  if (record.expires_at !== null) checkTime(`${what}: expires_at`, record.expires_at);
  if (record.revoked_at !== null) checkTime(`${what}: revoked_at`, record.revoked_at);
}

/** The `order` index member of a position (see scripts.ts). */
function orderMember(createdAtMs: number, id: string): string {
  return `${String(Math.max(0, createdAtMs + ORDER_OFFSET_MS)).padStart(15, "0")}:${id}`;
}

/** The pipeline's replies, or its first error. */
async function exec<T extends unknown[]>(p: Pipeline): Promise<T> {
  const replies = await p.exec();
  if (!replies) throw new Error("RedisKeyStore: the pipeline was discarded");
  const out: unknown[] = [];
  for (const [error, value] of replies) {
    if (error) throw error;
    out.push(value);
  }
  return out as T;
}

/** The record with the later of its own `last_used_at` and the touched one. */
function withLastUsed(record: ApiKeyRecord, used: string | null | undefined): ApiKeyRecord {
  if (!used) return record;
  const last = laterTime(record.last_used_at, used);
  return last === record.last_used_at ? record : { ...record, last_used_at: last };
}

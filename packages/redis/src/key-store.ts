import { applyKeyPatch, compareNewestFirst, laterTime, type ApiKeyRecord, type KeyPatch, type KeyPatchResult, type KeyStore } from "@alloovium/core";
import { Connection } from "./connection";
import { KeyLayout } from "./keys";
import { checkBase, type RedisStoreBaseOptions } from "./options";
import { SWAP_KEY_SCRIPT, TOUCH_SCRIPT } from "./scripts";

/** Options of `RedisKeyStore`. A key store always fails closed: a lookup that fails throws. */
export type RedisKeyStoreOptions = RedisStoreBaseOptions;

interface Commands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  del(key: string): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
  hvals(key: string): Promise<string[]>;
  publish(channel: string, message: string): Promise<number>;
  pipeline(): Pipeline;
}

interface Pipeline {
  hget(key: string, field: string): Pipeline;
  hvals(key: string): Pipeline;
  hgetall(key: string): Pipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/**
 * A `KeyStore` on Redis. A tenant's records are one hash (`{tenant}:keys`, id -> JSON); a
 * digest index (`kd:<digest>` -> tenant and id) finds a record by its exact digest, and a
 * lookup checks that the record still carries that digest, so a stale index entry never
 * matches. `put` publishes the old and new digests on `${prefix}:key-invalidations` for
 * `watchKeyInvalidations`.
 *
 * On Cluster the index keys live outside the tenant's slot, so `put` writes in an order that is
 * safe at every step: (1) the new digest's index entry, which matches nothing until (2) the
 * record is replaced (now the old digest stops matching and the new one matches), then (3) the
 * old digest's index entry is deleted and (4) the digests are published. A crash between steps
 * leaves only index entries that match nothing.
 *
 * `last_used_at` lives apart from the records, in `{tenant}:keys:used` (id -> ISO time), moved
 * only forward by `touch` and only for an id the tenant holds; `get`, `list` and `findByDigest`
 * (through `get`) answer the later of it and the record's own, read in the same round trip. So
 * a touch never rewrites a record (it cannot undo a revoke), and a `put` of a record read
 * before a touch never loses it.
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
    return record.tenant_id === tenantId ? withLastUsed(record, used) : null;
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    const k = this.#keys;
    const [all, used] = await this.#conn.command("list", () =>
      exec<[string[], Record<string, string>]>(this.#c.pipeline().hvals(k.keyRecords(tenantId)).hgetall(k.keysUsed(tenantId))),
    );
    return all.map((j) => {
      const record = JSON.parse(j) as ApiKeyRecord;
      return withLastUsed(record, used[record.id]);
    }).sort(compareNewestFirst);
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
   * Field-level change (revoke, rename, end), atomic by compare-and-set on the stored record:
   * read, apply `applyKeyPatch`, write only if the record is still the one read, else read
   * again (a few times; then it throws). Publishes the digest when applied.
   */
  async patch(tenantId: string, id: string, patch: KeyPatch): Promise<KeyPatchResult | null> {
    const k = this.#keys;
    for (let attempt = 0; attempt < 16; attempt++) {
      const [json, used] = await this.#conn.command("patch", () =>
        exec<[string | null, string | null]>(this.#c.pipeline().hget(k.keyRecords(tenantId), id).hget(k.keysUsed(tenantId), id)),
      );
      if (json === null) return null;
      const record = JSON.parse(json) as ApiKeyRecord;
      if (record.tenant_id !== tenantId) return null;
      const result = applyKeyPatch(record, patch);
      if (!result.applied) return { applied: false, record: withLastUsed(record, used) };
      const next = JSON.stringify({ ...result.record, scopes: [...result.record.scopes] });
      if ((await this.#conn.script(SWAP_KEY_SCRIPT, [k.keyRecords(tenantId)], [id, json, next])) !== 1) continue;
      await this.#conn.command("patch", () => this.#c.publish(k.channel, record.digest));
      return { applied: true, record: withLastUsed(result.record, used) };
    }
    throw new Error("RedisKeyStore.patch: the record kept changing; giving up after 16 attempts");
  }

  async put(record: ApiKeyRecord): Promise<void> {
    const k = this.#keys;
    const owner = await this.#conn.command("put", () => this.#c.get(k.idIndex(record.id)));
    if (owner !== null && owner !== record.tenant_id) throw new Error("RedisKeyStore.put: a key cannot move to another tenant");
    const old = await this.get(record.tenant_id, record.id);
    const json = JSON.stringify({ ...record, scopes: [...record.scopes] });
    if (owner === null) await this.#conn.command("put", () => this.#c.set(k.idIndex(record.id), record.tenant_id));
    await this.#conn.command("put", () => this.#c.set(k.digestIndex(record.digest), JSON.stringify([record.tenant_id, record.id])));
    await this.#conn.command("put", () => this.#c.hset(k.keyRecords(record.tenant_id), record.id, json));
    const digests = [record.digest];
    if (old && old.digest !== record.digest) {
      digests.push(old.digest);
      await this.#conn.command("put", () => this.#c.del(k.digestIndex(old.digest)));
    }
    await this.#conn.command("put", () => this.#c.publish(k.channel, digests.join("\n")));
  }
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

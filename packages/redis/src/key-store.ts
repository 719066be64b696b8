import { compareNewestFirst, type ApiKeyRecord, type KeyStore } from "@alloovium/core";
import { Connection } from "./connection";
import { KeyLayout } from "./keys";
import { checkBase, type RedisStoreBaseOptions } from "./options";

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
    const json = await this.#conn.command("get", () => this.#c.hget(this.#keys.keyRecords(tenantId), id));
    if (json === null) return null;
    const record = JSON.parse(json) as ApiKeyRecord;
    return record.tenant_id === tenantId ? record : null;
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    const all = await this.#conn.command("list", () => this.#c.hvals(this.#keys.keyRecords(tenantId)));
    return all.map((j) => JSON.parse(j) as ApiKeyRecord).sort(compareNewestFirst);
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

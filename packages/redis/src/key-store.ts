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
import { defineScript, isOne, luaFragment } from "./script";

// Key records (hash id -> JSON) and two indexes in the tenant's slot, kept in step by every
// script that writes a record: `order` (sorted set, all scores 0, members
// "<15-digit created_at ms + 62167219200000>:<id>", so that lexical order is newest-first order
// read backwards) and `active` (sorted set: the id of every key not revoked, scored by its
// expires_at in ms, "+inf" for none). Records hold strings, nulls and the `scopes` list only.
// `rebuild` builds both indexes from the records when `order` does not hold one member per
// record (records written before the indexes existed); a record it cannot decode (one written
// by an older version, say with a lone surrogate escape cjson refuses) gets the member
// "!:<id>", which sorts after every other one newest first and which `list` skips: the indexes
// converge and no script fails on it again. Every script decodes what it is given before its
// first write (a script that fails is not rolled back). Times are parsed here the way
// `Date.parse` reads the ISO 8601 forms the store accepts (`2026-04-02T10:12:34.000Z`,
// `+01:00` offsets, 1-9 fraction digits), in integers: never by string comparison.

export const KEY_RECORD_LUA = luaFragment("key-records", {
  defines: ["isnull", "iso_ms", "order_member", "active_score", "index", "decode", "rebuild", "encode"],
  lua: `
local function isnull(v) return v == nil or v == cjson.null end
local function iso_ms(s)
  if type(s) ~= 'string' then return nil end
  local y, mo, d, h, mi, sec, rest = string.match(s, '^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)(.*)$')
  if not y then return nil end
  local frac = 0
  local f = string.match(rest, '^%.(%d+)')
  if f then
    frac = tonumber(string.sub(f .. '00', 1, 3))
    rest = string.sub(rest, #f + 2)
  end
  local off = 0
  if rest ~= 'Z' then
    local sign, oh, om = string.match(rest, '^([+-])(%d%d):(%d%d)$')
    if not sign then return nil end
    off = (tonumber(oh) * 60 + tonumber(om)) * 60000
    if sign == '-' then off = -off end
  end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60000 + tonumber(sec) * 1000 + frac - off
end
local function order_member(rec)
  return string.format('%015d', math.max(0, (iso_ms(rec.created_at) or 0) + 62167219200000)) .. ':' .. rec.id
end
local function active_score(rec)
  if not isnull(rec.revoked_at) then return nil end
  local e = iso_ms(rec.expires_at)
  if not e then return '+inf' end
  return string.format('%d', e)
end
local function index(order, active, rec)
  redis.call('ZADD', order, 0, order_member(rec))
  local score = active_score(rec)
  if score then redis.call('ZADD', active, score, rec.id) else redis.call('ZREM', active, rec.id) end
end
local function decode(json)
  local ok, rec = pcall(cjson.decode, json)
  if ok and type(rec) == 'table' then return rec end
  return nil
end
local function rebuild(records, order, active)
  if redis.call('ZCARD', order) == redis.call('HLEN', records) then return end
  redis.call('DEL', order, active)
  local all = redis.call('HGETALL', records)
  for i = 1, #all, 2 do
    local rec = decode(all[i + 1])
    if rec and type(rec.id) == 'string' then index(order, active, rec) else redis.call('ZADD', order, 0, '!:' .. all[i]) end
  end
end
-- A record as JSON: cjson would write an empty list as {}, so lists are written here.
local function encode(rec)
  local names = {}
  for k in pairs(rec) do names[#names + 1] = k end
  table.sort(names)
  local out = {}
  for i = 1, #names do
    local v = rec[names[i]]
    local ev
    if type(v) == 'table' then
      local items = {}
      for j = 1, #v do items[j] = cjson.encode(v[j]) end
      ev = '[' .. table.concat(items, ',') .. ']'
    else
      ev = cjson.encode(v)
    end
    out[i] = cjson.encode(names[i]) .. ':' .. ev
  end
  return '{' .. table.concat(out, ',') .. '}'
end`,
});

/**
 * Inserts a key record unless one with this id is stored (an insert never replaces), deciding
 * the tenant's active-key cap in the same step: with a cap, refused when `active` holds `max`
 * ids ending after `now` (ids that ended over a day before it are pruned).
 * KEYS[1] the tenant's records (hash), KEYS[2] its `order` index, KEYS[3] its `active` index.
 * ARGV[1] id, ARGV[2] record JSON, ARGV[3] max active keys ('' = no cap), ARGV[4] now (integer ms).
 * Returns 'inserted', 'exists' or 'limit_reached'.
 */
export const INSERT_KEY_SCRIPT = defineScript<[records: string, order: string, active: string], [id: string, record: string, maxActive: string, nowMs: string], KeyInsertOutcome>({
  name: "insert-key",
  keys: ["records", "order index", "active index"],
  args: ["id", "record JSON", "max active keys ('' = no cap)", "now (integer ms)"],
  uses: [KEY_RECORD_LUA],
  lua: `
local rec = decode(ARGV[2])
if not rec then return redis.error_reply('ERR insert-key: the record is not JSON this script can read') end
rebuild(KEYS[1], KEYS[2], KEYS[3])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if ARGV[3] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', tonumber(ARGV[4]) - 86400000))
  if redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[4], '+inf') >= tonumber(ARGV[3]) then return 'limit_reached' end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
index(KEYS[2], KEYS[3], rec)
return 'inserted'
`,
  decode: (r) => r as KeyInsertOutcome,
});

/**
 * Inserts or replaces a key record, moving it in both indexes.
 * KEYS[1] records, KEYS[2] order, KEYS[3] active. ARGV[1] id, ARGV[2] record JSON.
 * Returns the JSON it replaced, or nil.
 */
export const PUT_KEY_SCRIPT = defineScript<[records: string, order: string, active: string], [id: string, record: string], string | null>({
  name: "put-key", keys: ["records", "order index", "active index"], args: ["id", "record JSON"],
  uses: [KEY_RECORD_LUA],
  lua: `
local rec = decode(ARGV[2])
if not rec then return redis.error_reply('ERR put-key: the record is not JSON this script can read') end
rebuild(KEYS[1], KEYS[2], KEYS[3])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local was = decode(old)
  redis.call('ZREM', KEYS[2], was and order_member(was) or ('!:' .. ARGV[1]))
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
index(KEYS[2], KEYS[3], rec)
return old
`,
  decode: (r) => r as string | null,
});

/**
 * A field-level change of one key record, read, applied and written in one step (core's
 * `applyKeyPatch`, mirrored): the patch JSON holds any of name, scopes, revokedAt (kept when
 * already revoked), expiresBy (only ever earlier), successorId (the whole patch applies only
 * while none is recorded), ifUnchanged {expires_at, revoked_at} and ifScopesWithin (every scope
 * of the key must be one of these). Nothing is written when a
 * condition fails or nothing would change. The `active` index follows the record.
 * KEYS[1] records, KEYS[2] last-used times (hash), KEYS[3] active.
 * ARGV[1] id, ARGV[2] tenant id, ARGV[3] patch JSON.
 * Returns {0} when the tenant has no such key, else {1 unchanged | 2 applied, record JSON, last used | ''}.
 */
export const PATCH_KEY_SCRIPT = defineScript<[records: string, used: string, active: string], [id: string, tenantId: string, patch: string], readonly [0 | 1 | 2, string?, string?]>({
  name: "patch-key", keys: ["records", "last-used times", "active index"], args: ["id", "tenant id", "patch JSON"],
  uses: [KEY_RECORD_LUA],
  lua: `
local p = decode(ARGV[3])
if not p then return redis.error_reply('ERR patch-key: the patch is not JSON this script can read') end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {0} end
local rec = decode(raw)
if not rec or rec.tenant_id ~= ARGV[2] then return {0} end
local used = redis.call('HGET', KEYS[2], ARGV[1]) or ''
local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end
local function same(a, b)
  if isnull(a) then return isnull(b) end
  return a == b
end
local g = p.ifUnchanged
if g and (not same(g.expires_at, rec.expires_at) or not same(g.revoked_at, rec.revoked_at)) then return {1, raw, used} end
if g and g.name ~= nil and g.name ~= rec.name then return {1, raw, used} end
if g and g.scopes ~= nil and not same_list(g.scopes, rec.scopes) then return {1, raw, used} end
if p.successorId ~= nil and not isnull(rec.successor_id) then return {1, raw, used} end
if p.ifScopesWithin ~= nil then
  local allowed = {}
  for i = 1, #p.ifScopesWithin do allowed[p.ifScopesWithin[i]] = true end
  for i = 1, #rec.scopes do
    if not allowed[rec.scopes[i]] then return {1, raw, used} end
  end
end
local changed = false
if p.name ~= nil and p.name ~= rec.name then
  rec.name = p.name
  changed = true
end
if p.scopes ~= nil then
  local differs = #p.scopes ~= #rec.scopes
  for i = 1, #p.scopes do
    if p.scopes[i] ~= rec.scopes[i] then differs = true end
  end
  if differs then
    rec.scopes = p.scopes
    changed = true
  end
end
if p.revokedAt ~= nil and rec.revoked_at == cjson.null then
  rec.revoked_at = p.revokedAt
  changed = true
end
if p.expiresBy ~= nil then
  local by, cur = iso_ms(p.expiresBy), iso_ms(rec.expires_at)
  if rec.expires_at == cjson.null or (by and cur and by < cur) then
    rec.expires_at = p.expiresBy
    changed = true
  end
end
if p.successorId ~= nil then
  rec.successor_id = p.successorId
  changed = true
end
if not changed then return {1, raw, used} end
local json = encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], json)
local score = active_score(rec)
if score then redis.call('ZADD', KEYS[3], score, ARGV[1]) else redis.call('ZREM', KEYS[3], ARGV[1]) end
return {2, json, used}
`,
  decode: (r) => r as readonly [0 | 1 | 2, string?, string?],
});

/**
 * One page of a tenant's key records, newest first, from the `order` index.
 * KEYS[1] records, KEYS[2] last-used times, KEYS[3] order, KEYS[4] active.
 * ARGV[1] the upper bound ('+' for the first page, else '(' .. the member of the position),
 * ARGV[2] the most records to answer (-1 = all).
 * Returns {record JSON, last used | '', ...} in order.
 */
export const LIST_KEYS_SCRIPT = defineScript<[records: string, used: string, order: string, active: string], [upper: string, limit: number], readonly string[]>({
  name: "list-keys",
  keys: ["records", "last-used times", "order index", "active index"],
  args: ["upper bound", "most records (-1 = all)"],
  uses: [KEY_RECORD_LUA],
  lua: `
rebuild(KEYS[1], KEYS[3], KEYS[4])
local members = redis.call('ZRANGE', KEYS[3], ARGV[1], '-', 'BYLEX', 'REV', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for from = 1, #members, 500 do
  local ids = {}
  for i = from, math.min(#members, from + 499) do
    -- A record no script can decode ("!:<id>", see rebuild) is skipped.
    ids[#ids + 1] = string.sub(members[i], 1, 1) == '!' and '' or string.sub(members[i], 17)
  end
  local recs = redis.call('HMGET', KEYS[1], unpack(ids))
  local used = redis.call('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do
    if recs[i] and ids[i] ~= '' then
      out[#out + 1] = recs[i]
      out[#out + 1] = used[i] or ''
    end
  end
end
return out
`,
  decode: (r) => r as string[],
});

/**
 * Deletes a key record nobody was handed (a roll's successor when the roll lost), only while
 * it is the tenant's, carries this digest, was never used (no last-used time, here or in the
 * record), never rolled and not revoked; with it go its members of both indexes and its
 * last-used time. The digest and id index entries (outside the slot) are deleted after it.
 * KEYS[1] records, KEYS[2] last-used times, KEYS[3] order, KEYS[4] active.
 * ARGV[1] id, ARGV[2] tenant id, ARGV[3] digest. Returns 1 when deleted, 0 otherwise.
 */
export const REMOVE_UNUSED_KEY_SCRIPT = defineScript<[records: string, used: string, order: string, active: string], [id: string, tenantId: string, digest: string], boolean>({
  name: "remove-unused-key",
  keys: ["records", "last-used times", "order index", "active index"],
  args: ["id", "tenant id", "digest"],
  uses: [KEY_RECORD_LUA],
  lua: `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local rec = decode(raw)
if not rec or rec.tenant_id ~= ARGV[2] or rec.digest ~= ARGV[3] then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or not isnull(rec.last_used_at) then return 0 end
if not isnull(rec.successor_id) or not isnull(rec.revoked_at) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], order_member(rec))
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`,
  decode: isOne,
});

/**
 * Moves a key's `last_used_at` forward, only for an id the tenant's record hash holds; never
 * touches the record itself (so it cannot race a revoke or an update).
 * KEYS[1] the tenant's key records (hash), KEYS[2] the tenant's last-used times (hash).
 * ARGV[1] key id, ARGV[2] time (canonical ISO 8601 as `Date#toISOString` writes it, years 0-9999).
 * Returns 1 when moved, 0 otherwise.
 */
export const TOUCH_SCRIPT = defineScript<[records: string, used: string], [id: string, at: string], boolean>({
  name: "touch", keys: ["records", "last-used times"], args: ["id", "time (ISO 8601)"],
  lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  -- Compare the digits as (date, time) integers: Lua's string order follows the server's locale.
  local function parts(iso)
    return tonumber((string.gsub(string.sub(iso, 1, 10), '%D', ''))), tonumber((string.gsub(string.sub(iso, 12, 23), '%D', '')))
  end
  local cd, ct = parts(cur)
  local nd, nt = parts(ARGV[2])
  if cd > nd or (cd == nd and ct >= nt) then return 0 end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`,
  decode: isOne,
});

/**
 * Sets a string key to ARGV[2] only while it holds ARGV[1] ('' = absent): takes over a digest
 * index entry that no record carries any more, never one that another insert took meanwhile.
 * KEYS[1] the key. Returns 1 when set, 0 otherwise.
 */
export const SWAP_STRING_SCRIPT = defineScript<[key: string], [expected: string, value: string], boolean>({
  name: "swap-string", keys: ["key"], args: ["expected value ('' = absent)", "new value"],
  lua: `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`,
  decode: isOne,
});

/**
 * Deletes a string key only while it holds ARGV[1] (an index entry this process wrote).
 * KEYS[1] the key. Returns 1 when deleted, 0 otherwise.
 */
export const DELETE_IF_SCRIPT = defineScript<[key: string], [expected: string], boolean>({
  name: "delete-if", keys: ["key"], args: ["expected value"],
  lua: `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
  decode: isOne,
});

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
    // A record the scripts cannot decode (an earlier version's, see `KEY_RECORD_LUA`) is absent here
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
    const reply = await this.#conn.script(
      LIST_KEYS_SCRIPT,
      [k.keyRecords(tenantId), k.keysUsed(tenantId), k.keyOrder(tenantId), k.keysActive(tenantId)],
      [upper, limit ?? -1],
    );
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
    const reply = await this.#conn.script(PATCH_KEY_SCRIPT, [k.keyRecords(tenantId), k.keysUsed(tenantId), k.keysActive(tenantId)], [id, tenantId, body]);
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
    if (!removed) return false;
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
    const old = await this.#conn.script(PUT_KEY_SCRIPT, [k.keyRecords(tenant), k.keyOrder(tenant), k.keysActive(tenant)], [record.id, recordJson(record)]);
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
    const outcome = await this.#conn.script(
      INSERT_KEY_SCRIPT,
      [k.keyRecords(tenant), k.keyOrder(tenant), k.keysActive(tenant)],
      [record.id, recordJson(record), limit ? String(limit.max) : "", limit ? String(Math.floor(limit.nowMs)) : "0"],
    );
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
      if (await this.#conn.script(SWAP_STRING_SCRIPT, [key], [current ?? "", pointer])) return "taken";
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

/** The `order` index member of a position (see `KEY_RECORD_LUA`). */
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

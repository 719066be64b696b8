import { createHash } from "node:crypto";

/**
 * The Lua scripts, one constant per script, with the KEYS and ARGV each takes. They are kept as
 * strings in TypeScript so that the source tree and the tsup build load them the same way.
 *
 * Every script that needs the time reads it with `TIME` (Redis 7 replicates script effects, so
 * this is safe) and never trusts the caller's clock. Every multi-key script gets keys of one
 * tenant, which share the `{tenant}` hash tag and so one Cluster slot. The one key a script
 * names itself is the usage hash of the current hour: the client cannot know the server's hour,
 * so it passes the tenant's usage key prefix in KEYS and the script appends the hour (same
 * hash tag, same slot, so Cluster routes and allows it).
 *
 * Decision scripts take a `deadline` (server-clock milliseconds, 0 = none): a script that runs
 * after it writes nothing and answers `late`. The client gives up at about the same moment, so
 * a command that was queued behind a paused or hung server cannot take effect after the caller
 * has already fallen back (no token charged twice, no claim nobody holds).
 */

/** One script: its source and SHA-1 (for EVALSHA). */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, lua: string): LuaScript {
  return { name, lua, sha: createHash("sha1").update(lua).digest("hex") };
}

// Shared pieces. `now` is server time in milliseconds with a microsecond fraction.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
`;

// The token bucket: refill (same arithmetic as core's refill/decide), then take `cost` if held.
// A rejected request and a cost-0 read write nothing; a full bucket is no key. The state is one
// string, "<tokens> <TIME seconds> <TIME microseconds>", written with SET PX: GET and SET instead
// of three hash commands, and no float formatting (string.format is a large share of a call):
// the time is kept as TIME's own strings, and tokens (plain Lua tostring, 14 significant digits)
// are answered as an integer count of millionths.
// `held` reads a bucket's tokens now; `take` writes what is left after a cost; `bucket` decides
// one bucket, `all` several (a tenant-wide bucket with the credential's): every bucket gives the
// cost or none does.
const BUCKET_FN = `
local function held(key, capacity, rate)
  local v = redis.call('GET', key)
  if not v then return capacity end
  local h, sec, usec = string.match(v, '^(%S+) (%d+) (%d+)$')
  local tokens = tonumber(h)
  local elapsed = (t[1] - sec) * 1000 + (t[2] - usec) / 1000
  if elapsed > 0 then return math.min(capacity, tokens + (elapsed * rate) / 1000) end
  return math.min(tokens, capacity)
end
local function take(key, tokens, cost, capacity, rate)
  if cost <= 0 then return end
  local after = math.max(0, tokens - cost)
  if after >= capacity then
    redis.call('DEL', key)
  else
    local ttl = math.min(math.ceil(((capacity - after) * 1000) / rate) + 1, 9000000000000000)
    redis.call('SET', key, after .. ' ' .. t[1] .. ' ' .. t[2], 'PX', ttl)
  end
end
local function bucket(key, cost, capacity, rate)
  local tokens = held(key, capacity, rate)
  local allowed = tokens + 1e-9 >= cost
  if allowed then take(key, tokens, cost, capacity, rate) end
  return allowed, tokens
end
local function all(keys, cost, limits)
  local tokens = {}
  local allowed = true
  for i = 1, #keys do
    tokens[i] = held(keys[i], limits[i][1], limits[i][2])
    if tokens[i] + 1e-9 < cost then allowed = false end
  end
  if allowed then
    for i = 1, #keys do take(keys[i], tokens[i], cost, limits[i][1], limits[i][2]) end
  end
  return allowed, tokens
end
`;

// Claim-or-read of an idempotency record (hash: s = i|c, f = fingerprint, k = token,
// r = response JSON, u = expiry in server ms). Tokens are TIME seconds + microseconds + a
// per-tenant counter: unique per key even if the counter key is lost with a restart.
const CLAIM_FN = `
local function claim(rec, seq, fp, lease)
  local r = redis.call('HMGET', rec, 's', 'f', 'r')
  if r[1] then
    if r[2] ~= fp then return {'mismatch'} end
    if r[1] == 'c' then return {'completed', r[3]} end
    return {'in_flight'}
  end
  local n = redis.call('INCR', seq)
  redis.call('PEXPIRE', seq, 86400000)
  local token = t[1] .. string.format('%06d', tonumber(t[2])) .. '.' .. n
  redis.call('HSET', rec, 's', 'i', 'f', fp, 'k', token, 'u', string.format('%d', math.floor(now) + lease))
  redis.call('PEXPIRE', rec, lease)
  return {'claimed', token}
end
`;

// Credits: the balance is an integer string (absent = the grant, so a tenant never charged
// follows the configured grant); usage is a hash per hour of server time, `c:<capability>` calls
// and `k:<capability>` credits, expiring `retention` ms after the end of its hour. Counts are
// changed with DECRBY/HINCRBY (integer arithmetic on the server), never formatted from floats.
const CREDITS_FN = `
local hour = (tonumber(t[1]) - tonumber(t[1]) % 3600) * 1000
local function balance_of(bal, grant)
  local b = redis.call('GET', bal)
  if b then return tonumber(b) end
  return tonumber(grant)
end
local function charge(bal, uprefix, cap, price, grant, retention)
  local b = redis.call('GET', bal)
  local balance = tonumber(b or grant)
  if balance < price then return false, balance end
  if price > 0 then
    if not b then redis.call('SET', bal, grant) end
    balance = redis.call('DECRBY', bal, price)
  end
  local u = uprefix .. string.format('%d', hour)
  if redis.call('HINCRBY', u, 'c:' .. cap, 1) == 1 then redis.call('PEXPIREAT', u, hour + 3600000 + retention) end
  if price > 0 then redis.call('HINCRBY', u, 'k:' .. cap, price) end
  return true, balance
end
`;

const LATE = `
local deadline = tonumber(ARGV[4])
if deadline > 0 and now > deadline then return {-1, '', math.floor(now)} end
`;

/**
 * Token-bucket decision, on one bucket or on several of one tenant (all or nothing).
 * KEYS[1..n] buckets (strings). ARGV[1] cost (integer >= 0), ARGV[2] capacity, ARGV[3]
 * refillPerSecond (of KEYS[1]), ARGV[4] deadline (server ms, 0 = none); for KEYS[i], i >= 2:
 * ARGV[2i + 1] capacity, ARGV[2i + 2] refillPerSecond.
 * Returns { 1 allowed | 0 rejected | -1 late, tokens of KEYS[1] before the cost in millionths
 * (integer), server now ms, tokens of KEYS[2], ... }.
 * (Every decision script answers the server time third: the client learns the clock offset.)
 */
export const BUCKET_SCRIPT = script(
  "bucket",
  `${NOW}${LATE}${BUCKET_FN}
if #KEYS == 1 then
  local allowed, tokens = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
  return {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now)}
end
local limits = {{tonumber(ARGV[2]), tonumber(ARGV[3])}}
for i = 2, #KEYS do limits[i] = {tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])} end
local allowed, tokens = all(KEYS, tonumber(ARGV[1]), limits)
local r = {allowed and 1 or 0, math.floor(tokens[1] * 1000000), math.floor(now)}
for i = 2, #KEYS do r[i + 2] = math.floor(tokens[i] * 1000000) end
return r
`,
);

/**
 * The admission: bucket decision, then (only if allowed) the idempotency claim, then (when
 * metered) the credit charge, in one script and one round trip, with core's `composeAdmission`
 * semantics: a refused bucket claims and charges nothing but answers the balance; an
 * `in_flight` or `mismatch` claim answers the balance only; a `completed` claim (a replay) is
 * counted as a call at 0 credits; a short balance deletes the claim just made and answers
 * `insufficient`. Every metered reply carries the balance.
 * KEYS[1] bucket (string), KEYS[2] idempotency record (without a claim: any key of the tenant,
 * untouched), KEYS[3] the tenant's token counter; metered (or with a tenant bucket): KEYS[4]
 * credit balance, KEYS[5] usage key prefix (the script appends the hour of server `TIME`; same
 * hash tag, same slot); with a tenant-wide bucket: KEYS[6] that bucket, taken with KEYS[1] all
 * or nothing.
 * ARGV[1..4] as BUCKET_SCRIPT, ARGV[5] fingerprint, ARGV[6] leaseMs (integer; 0 = no claim);
 * metered only: ARGV[7] price (integer >= 0), ARGV[8] grant, ARGV[9] capability, ARGV[10]
 * usage retention ms. Without ARGV[7] (or with '') nothing is metered. With KEYS[6]: ARGV[11]
 * its capacity, ARGV[12] its refillPerSecond.
 * Returns { 1 | 0 | -1 late, tokens, server now ms, claim outcome | '', token | response JSON | '',
 * 'charged' | 'insufficient' | 'balance' | '', balance, credits charged, hour ms,
 * [ tenant bucket tokens before the cost, in millionths ] }.
 */
export const ADMIT_SCRIPT = script(
  "admit",
  `${NOW}${LATE}${BUCKET_FN}${CLAIM_FN}${CREDITS_FN}
local allowed, tokens, shared
if KEYS[6] then
  local counts
  allowed, counts = all({KEYS[1], KEYS[6]}, tonumber(ARGV[1]), {{tonumber(ARGV[2]), tonumber(ARGV[3])}, {tonumber(ARGV[11]), tonumber(ARGV[12])}})
  tokens = counts[1]
  shared = counts[2]
else
  allowed, tokens = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
end
local r = {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now), '', '', '', '', '', ''}
if shared then r[10] = math.floor(shared * 1000000) end
if allowed and tonumber(ARGV[6]) > 0 then
  local c = claim(KEYS[2], KEYS[3], ARGV[5], tonumber(ARGV[6]))
  r[4] = c[1]
  r[5] = c[2] or ''
end
if ARGV[7] == nil or ARGV[7] == '' then return r end
if not allowed or r[4] == 'in_flight' or r[4] == 'mismatch' then
  r[6] = 'balance'
  r[7] = balance_of(KEYS[4], ARGV[8])
  return r
end
local price = tonumber(ARGV[7])
if r[4] == 'completed' then price = 0 end
local ok, balance = charge(KEYS[4], KEYS[5], ARGV[9], price, ARGV[8], tonumber(ARGV[10]))
if not ok then
  if r[4] == 'claimed' then redis.call('DEL', KEYS[2]) end
  r[6] = 'insufficient'
  r[7] = balance
  return r
end
r[6] = 'charged'
r[7] = balance
r[8] = price
r[9] = hour
return r
`,
);

/**
 * Idempotency claim-or-read.
 * KEYS[1] record, KEYS[2] the tenant's token counter. ARGV[1] fingerprint, ARGV[2] leaseMs,
 * ARGV[3] unused, ARGV[4] deadline (server ms, 0 = none).
 * Returns { outcome | -1 late, token | response JSON | '', server now ms }.
 */
export const CLAIM_SCRIPT = script(
  "claim",
  `${NOW}${LATE}${CLAIM_FN}
local c = claim(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
return {c[1], c[2] or '', math.floor(now)}
`,
);

/**
 * Completes an in-flight record held with this token; anything else writes nothing.
 * KEYS[1] record. ARGV[1] token, ARGV[2] response JSON, ARGV[3] ttlMs (integer).
 * Returns 1 when stored, 0 otherwise.
 */
export const COMPLETE_SCRIPT = script(
  "complete",
  `${NOW}
local r = redis.call('HMGET', KEYS[1], 's', 'k')
if r[1] ~= 'i' or r[2] ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 's', 'c', 'r', ARGV[2], 'u', string.format('%d', math.floor(now) + ttl))
redis.call('HDEL', KEYS[1], 'k')
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`,
);

/**
 * Deletes an in-flight record held with this token (so that a retry runs).
 * KEYS[1] record. ARGV[1] token. Returns 1 when deleted, 0 otherwise.
 */
export const RELEASE_SCRIPT = script(
  "release",
  `
local r = redis.call('HMGET', KEYS[1], 's', 'k')
if r[1] ~= 'i' or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
);

/**
 * A credit charge: takes `price` if the balance holds it and counts the call (and its credits)
 * in the usage of the current hour of server time; a refused charge writes nothing.
 * KEYS[1] credit balance, KEYS[2] usage key prefix (the script appends the hour).
 * ARGV[1] price (integer >= 0), ARGV[2] grant, ARGV[3] capability, ARGV[4] deadline (server ms,
 * 0 = none), ARGV[5] usage retention ms.
 * Returns { 1 charged | 0 refused | -1 late, balance after, server now ms, hour ms }.
 */
export const CHARGE_SCRIPT = script(
  "charge",
  `${NOW}${LATE}${CREDITS_FN}
local ok, balance = charge(KEYS[1], KEYS[2], ARGV[3], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[5]))
return {ok and 1 or 0, balance, math.floor(now), hour}
`,
);

/**
 * Gives back a charge: adds `credits` to the balance (from the grant when absent) and takes
 * them off the capability's credits in the usage of the charge's hour, never below 0 (the call
 * stays counted; an expired hour is left alone). No deadline: a refund that arrives late is
 * still owed.
 * KEYS[1] credit balance, KEYS[2] usage of the charge's hour.
 * ARGV[1] credits (integer >= 0), ARGV[2] grant, ARGV[3] capability.
 * Returns the balance after the refund.
 */
export const REFUND_SCRIPT = script(
  "refund",
  `
if tonumber(ARGV[1]) == 0 then
  local b = redis.call('GET', KEYS[1])
  return tonumber(b or ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local balance = redis.call('INCRBY', KEYS[1], ARGV[1])
local field = 'k:' .. ARGV[3]
local v = redis.call('HGET', KEYS[2], field)
if v then
  local left = tonumber(v) - tonumber(ARGV[1])
  if left < 0 then left = 0 end
  redis.call('HSET', KEYS[2], field, string.format('%d', left))
end
return balance
`,
);

/**
 * A top-up: adds `credits` to the balance (from the grant when absent).
 * KEYS[1] credit balance. ARGV[1] credits (integer >= 1), ARGV[2] grant.
 * Returns the new balance.
 */
export const ADD_CREDITS_SCRIPT = script(
  "add-credits",
  `
redis.call('SET', KEYS[1], ARGV[2], 'NX')
return redis.call('INCRBY', KEYS[1], ARGV[1])
`,
);

/**
 * Usage rows of the hours a caller asks for, filtered on the server's clock: only hours from
 * `since` (and no older than the retention) up to the current hour of `TIME`.
 * KEYS[1..n] usage keys, oldest first; ARGV[1..n] their hours (ms); ARGV[n+1] the first hour
 * asked for (ms), ARGV[n+2] usage retention ms.
 * Returns { server now ms, { hour, field, value, field, value, ... } per non-empty hour }.
 */
export const USAGE_SCRIPT = script(
  "usage",
  `${NOW}
local n = #KEYS
local ms = math.floor(now)
local oldest = ms - tonumber(ARGV[n + 2])
oldest = oldest - oldest % 3600000
local from = math.max(tonumber(ARGV[n + 1]), oldest)
local to = ms - ms % 3600000
local out = {ms}
for i = 1, n do
  local h = tonumber(ARGV[i])
  if h >= from and h <= to then
    local row = redis.call('HGETALL', KEYS[i])
    if #row > 0 then
      table.insert(row, 1, ARGV[i])
      out[#out + 1] = row
    end
  end
end
return out
`,
);

/**
 * Moves a key's `last_used_at` forward, only for an id the tenant's record hash holds; never
 * touches the record itself (so it cannot race a revoke or an update).
 * KEYS[1] the tenant's key records (hash), KEYS[2] the tenant's last-used times (hash).
 * ARGV[1] key id, ARGV[2] time (canonical ISO 8601 as `Date#toISOString` writes it, years 0-9999).
 * Returns 1 when moved, 0 otherwise.
 */
export const TOUCH_SCRIPT = script(
  "touch",
  `
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
);

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
const KEY_FNS = `
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
end
`;

/**
 * Inserts a key record unless one with this id is stored (an insert never replaces), deciding
 * the tenant's active-key cap in the same step: with a cap, refused when `active` holds `max`
 * ids ending after `now` (ids that ended over a day before it are pruned).
 * KEYS[1] the tenant's records (hash), KEYS[2] its `order` index, KEYS[3] its `active` index.
 * ARGV[1] id, ARGV[2] record JSON, ARGV[3] max active keys ('' = no cap), ARGV[4] now (integer ms).
 * Returns 'inserted', 'exists' or 'limit_reached'.
 */
export const INSERT_KEY_SCRIPT = script(
  "insert-key",
  `${KEY_FNS}
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
);

/**
 * Inserts or replaces a key record, moving it in both indexes.
 * KEYS[1] records, KEYS[2] order, KEYS[3] active. ARGV[1] id, ARGV[2] record JSON.
 * Returns the JSON it replaced, or nil.
 */
export const PUT_KEY_SCRIPT = script(
  "put-key",
  `${KEY_FNS}
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
);

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
export const PATCH_KEY_SCRIPT = script(
  "patch-key",
  `${KEY_FNS}
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
);

/**
 * One page of a tenant's key records, newest first, from the `order` index.
 * KEYS[1] records, KEYS[2] last-used times, KEYS[3] order, KEYS[4] active.
 * ARGV[1] the upper bound ('+' for the first page, else '(' .. the member of the position),
 * ARGV[2] the most records to answer (-1 = all).
 * Returns {record JSON, last used | '', ...} in order.
 */
export const LIST_KEYS_SCRIPT = script(
  "list-keys",
  `${KEY_FNS}
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
);

/**
 * Deletes a key record nobody was handed (a roll's successor when the roll lost), only while
 * it is the tenant's, carries this digest, was never used (no last-used time, here or in the
 * record), never rolled and not revoked; with it go its members of both indexes and its
 * last-used time. The digest and id index entries (outside the slot) are deleted after it.
 * KEYS[1] records, KEYS[2] last-used times, KEYS[3] order, KEYS[4] active.
 * ARGV[1] id, ARGV[2] tenant id, ARGV[3] digest. Returns 1 when deleted, 0 otherwise.
 */
export const REMOVE_UNUSED_KEY_SCRIPT = script(
  "remove-unused-key",
  `${KEY_FNS}
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
);

/**
 * Sets a string key to ARGV[2] only while it holds ARGV[1] ('' = absent): takes over a digest
 * index entry that no record carries any more, never one that another insert took meanwhile.
 * KEYS[1] the key. Returns 1 when set, 0 otherwise.
 */
export const SWAP_STRING_SCRIPT = script(
  "swap-string",
  `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`,
);

/**
 * Deletes a string key only while it holds ARGV[1] (an index entry this process wrote).
 * KEYS[1] the key. Returns 1 when deleted, 0 otherwise.
 */
export const DELETE_IF_SCRIPT = script(
  "delete-if",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
);

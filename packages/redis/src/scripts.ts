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
const BUCKET_FN = `
local function bucket(key, cost, capacity, rate)
  local v = redis.call('GET', key)
  local tokens = capacity
  if v then
    local held, sec, usec = string.match(v, '^(%S+) (%d+) (%d+)$')
    tokens = tonumber(held)
    local elapsed = (t[1] - sec) * 1000 + (t[2] - usec) / 1000
    if elapsed > 0 then
      tokens = math.min(capacity, tokens + (elapsed * rate) / 1000)
    else
      tokens = math.min(tokens, capacity)
    end
  end
  local allowed = tokens + 1e-9 >= cost
  if allowed and cost > 0 then
    local after = math.max(0, tokens - cost)
    if after >= capacity then
      redis.call('DEL', key)
    else
      local ttl = math.min(math.ceil(((capacity - after) * 1000) / rate) + 1, 9000000000000000)
      redis.call('SET', key, after .. ' ' .. t[1] .. ' ' .. t[2], 'PX', ttl)
    end
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
 * Token-bucket decision.
 * KEYS[1] bucket (string). ARGV[1] cost (integer >= 0), ARGV[2] capacity, ARGV[3] refillPerSecond,
 * ARGV[4] deadline (server ms, 0 = none).
 * Returns { 1 allowed | 0 rejected | -1 late, tokens before the cost in millionths (integer), server now ms }.
 * (Every decision script answers the server time third: the client learns the clock offset.)
 */
export const BUCKET_SCRIPT = script(
  "bucket",
  `${NOW}${LATE}${BUCKET_FN}
local allowed, tokens = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now)}
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
 * untouched), KEYS[3] the tenant's token counter; metered only: KEYS[4] credit balance, KEYS[5]
 * usage key prefix (the script appends the hour of server `TIME`; same hash tag, same slot).
 * ARGV[1..4] as BUCKET_SCRIPT, ARGV[5] fingerprint, ARGV[6] leaseMs (integer; 0 = no claim);
 * metered only: ARGV[7] price (integer >= 0), ARGV[8] grant, ARGV[9] capability, ARGV[10]
 * usage retention ms. Without ARGV[7] nothing is metered.
 * Returns { 1 | 0 | -1 late, tokens, server now ms, claim outcome | '', token | response JSON | '',
 * [ 'charged' | 'insufficient' | 'balance', balance, credits charged, hour ms ] }.
 */
export const ADMIT_SCRIPT = script(
  "admit",
  `${NOW}${LATE}${BUCKET_FN}${CLAIM_FN}${CREDITS_FN}
local allowed, tokens = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local r = {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now), '', ''}
if allowed and tonumber(ARGV[6]) > 0 then
  local c = claim(KEYS[2], KEYS[3], ARGV[5], tonumber(ARGV[6]))
  r[4] = c[1]
  r[5] = c[2] or ''
end
if ARGV[7] == nil then return r end
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

/**
 * Compare-and-set of one key record: writes the new JSON only if the stored JSON is still the
 * one the caller read (`RedisKeyStore.patch` retries on a miss), so a field-level change never
 * overwrites another made meanwhile.
 * KEYS[1] the tenant's `keys` hash. ARGV[1] id, ARGV[2] the JSON read, ARGV[3] the new JSON.
 * Returns 1 when written, 0 when the record changed (or is gone).
 */
export const SWAP_KEY_SCRIPT = script(
  "swap-key",
  `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`,
);

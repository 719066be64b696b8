import { createHash } from "node:crypto";

/**
 * The Lua scripts, one constant per script, with the KEYS and ARGV each takes. They are kept as
 * strings in TypeScript so that the source tree and the tsup build load them the same way.
 *
 * Every script reads the time with `TIME` (Redis 7 replicates script effects, so this is safe)
 * and never trusts the caller's clock. Every multi-key script gets keys of one tenant, which
 * share the `{tenant}` hash tag and so one Cluster slot.
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
 * Bucket decision, then (only if allowed) the idempotency claim: one round trip.
 * KEYS[1] bucket (string), KEYS[2] idempotency record, KEYS[3] the tenant's token counter.
 * ARGV[1..4] as BUCKET_SCRIPT, ARGV[5] fingerprint, ARGV[6] leaseMs (integer).
 * Returns { 1 | 0 | -1 late, tokens, server now ms, [outcome, token | response JSON] }.
 */
export const ADMIT_SCRIPT = script(
  "admit",
  `${NOW}${LATE}${BUCKET_FN}${CLAIM_FN}
local allowed, tokens = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local head = {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now)}
if not allowed then return head end
local c = claim(KEYS[2], KEYS[3], ARGV[5], tonumber(ARGV[6]))
head[4] = c[1]
if c[2] then head[5] = c[2] end
return head
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

import { MemoryIdempotencyStore, type IdempotencyStore } from "@alloovium/core";
import {
  type ClaimResult,
  type IdempotencyRecord,
  type IdempotencyRef,
  type StoredResponse,
} from "@alloovium/core/store-kit";
import { Connection } from "./connection";
import { kFallback, kInternals } from "./internal";
import { KeyLayout } from "./keys";
import { checkBase, checkFailure, type FailureMode, type RedisStoreBaseOptions } from "./options";
import { defineScript, isOne, luaFragment, SERVER_CLOCK } from "./script";

/**
 * Claim-or-read of an idempotency record (hash: s = i|c, f = fingerprint, k = token,
 * r = response JSON, u = expiry in server ms). `claim(rec, seq, fp, lease, t, now)` answers
 * {'claimed', token}, {'completed', response JSON}, {'in_flight'} or {'mismatch'}; `t` is TIME's
 * strings and `now` server ms. Tokens are TIME seconds + microseconds + a per-tenant counter:
 * unique per key even if the counter key is lost with a restart.
 */
export const CLAIM_LUA = luaFragment("claim", {
  defines: ["claim"],
  lua: `
local function claim(rec, seq, fp, lease, t, now)
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
end`,
});

/**
 * Idempotency claim-or-read. ARGV[3] is unused (the deadline is ARGV[4] in every decision script).
 * Returns { outcome | -1 late, token | response JSON | '', server now ms }.
 */
export const CLAIM_SCRIPT = defineScript<[record: string, sequence: string], [fingerprint: string, leaseMs: number, unused: "", deadline: number], ClaimResult>({
  name: "claim", keys: ["record", "the tenant's token counter"], args: ["fingerprint", "leaseMs", "unused", "deadline"],
  uses: [CLAIM_LUA],
  lua: `
local c = claim(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), t, now)
return {c[1], c[2] or '', math.floor(now)}
`,
  decode: (r) => {
    const reply = r as unknown[];
    return claimOf(reply[0], reply[1]);
  },
});

/**
 * Completes an in-flight record held with this token; anything else writes nothing.
 * Returns 1 when stored, 0 otherwise.
 */
export const COMPLETE_SCRIPT = defineScript<[record: string], [token: string, response: string, ttlMs: number], boolean>({
  name: "complete", keys: ["record"], args: ["token", "response JSON", "ttlMs"],
  uses: [SERVER_CLOCK],
  lua: `
local t, sec, usec, now = server_clock('0')
local r = redis.call('HMGET', KEYS[1], 's', 'k')
if r[1] ~= 'i' or r[2] ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 's', 'c', 'r', ARGV[2], 'u', string.format('%d', math.floor(now) + ttl))
redis.call('HDEL', KEYS[1], 'k')
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`,
  decode: isOne,
});

/** Deletes an in-flight record held with this token (so that a retry runs). Returns 1 when deleted, 0 otherwise. */
export const RELEASE_SCRIPT = defineScript<[record: string], [token: string], boolean>({
  name: "release", keys: ["record"], args: ["token"],
  lua: `
local r = redis.call('HMGET', KEYS[1], 's', 'k')
if r[1] ~= 'i' or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
  decode: isOne,
});

/** Options of `RedisIdempotencyStore`. */
export interface RedisIdempotencyStoreOptions extends RedisStoreBaseOptions {
  /**
   * When Redis fails: `closed` makes `claim` throw (and `RedisAdmission` answer
   * `{ outcome: "unavailable" }`, which the pipeline turns into 503 `idempotency_unavailable`);
   * `open` claims on a process-local store instead, so retries are deduplicated only within
   * this process until Redis is back.
   * @default "closed"
   */
  readonly failure?: FailureMode;
}

const LOCAL = "local:";

interface Commands {
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]>;
}

/**
 * An `IdempotencyStore` on Redis. `claim` is claim-or-read in one script and one round trip;
 * `complete` and `release` are one script each and succeed only for the current fencing token.
 * Completed records expire after `ttlMs`, in-flight ones after their lease (a crashed holder
 * frees the key). Tokens are server `TIME` microseconds plus a per-tenant counter, so a key
 * never gets the same token twice.
 * @example
 * const idempotency = new RedisIdempotencyStore({ client: new Redis() });
 * const c = await idempotency.claim({ tenantId, scope: `${userId}:live`, key }, fingerprint, { leaseMs: 60_000 });
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #conn: Connection;
  readonly #keys: KeyLayout;
  readonly #failure: FailureMode;
  readonly #local = new MemoryIdempotencyStore();
  readonly #onError: (error: unknown, operation: string) => void;

  constructor(options: RedisIdempotencyStoreOptions) {
    const { prefix, timeoutMs } = checkBase("RedisIdempotencyStore", options);
    this.#failure = checkFailure("RedisIdempotencyStore", "failure", options.failure, "closed");
    this.#conn = new Connection(options.client, timeoutMs);
    this.#keys = new KeyLayout(prefix);
    this.#onError = options.onError ?? (() => {});
  }

  #key(ref: IdempotencyRef): string {
    return this.#keys.idempotency(ref.tenantId, ref.scope, ref.key);
  }

  async claim(ref: IdempotencyRef, fingerprint: string, options: { readonly leaseMs: number }): Promise<ClaimResult> {
    const leaseMs = Math.max(1, Math.ceil(options.leaseMs));
    try {
      return await this.#conn.decision(CLAIM_SCRIPT, [this.#key(ref), this.#keys.sequence(ref.tenantId)], [fingerprint, leaseMs, "", 0]);
    } catch (error) {
      const local = await this[kFallback](ref, fingerprint, leaseMs, error);
      if (local.outcome === "unavailable") throw error;
      return local;
    }
  }

  /** @internal The failure path shared with `RedisAdmission`. */
  async [kFallback](
    ref: IdempotencyRef,
    fingerprint: string,
    leaseMs: number,
    error: unknown,
  ): Promise<ClaimResult | { readonly outcome: "unavailable"; readonly error: unknown }> {
    this.#onError(error, "claim");
    if (this.#failure === "closed") return { outcome: "unavailable", error };
    const c = await this.#local.claim(ref, fingerprint, { leaseMs });
    return c.outcome === "claimed" ? { outcome: "claimed", token: LOCAL + c.token } : c;
  }

  async complete(ref: IdempotencyRef, token: string, response: StoredResponse, options: { readonly ttlMs: number }): Promise<boolean> {
    if (token.startsWith(LOCAL)) return this.#local.complete(ref, token.slice(LOCAL.length), response, options);
    const body = JSON.stringify({ status: response.status, headers: response.headers, body: response.body });
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs));
    return this.#conn.script(COMPLETE_SCRIPT, [this.#key(ref)], [token, body, ttlMs]);
  }

  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    if (token.startsWith(LOCAL)) return this.#local.release(ref, token.slice(LOCAL.length));
    return this.#conn.script(RELEASE_SCRIPT, [this.#key(ref)], [token]);
  }

  async read(ref: IdempotencyRef): Promise<IdempotencyRecord | null> {
    const c = this.#conn.client as unknown as Commands;
    const [s, f, k, r, u] = await this.#conn.command("read", () => c.hmget(this.#key(ref), "s", "f", "k", "r", "u"));
    if (s === "i" && f != null && k != null) return { state: "in_flight", fingerprint: f, token: k, leaseExpiresAt: Number(u) };
    if (s === "c" && f != null && r != null) return { state: "completed", fingerprint: f, response: parseResponse(r), expiresAt: Number(u) };
    return null;
  }

  /** @internal */
  get [kInternals](): { conn: Connection; keys: KeyLayout } {
    return { conn: this.#conn, keys: this.#keys };
  }
}

function parseResponse(json: string): StoredResponse {
  const o = JSON.parse(json) as StoredResponse;
  return { status: o.status, headers: o.headers, body: o.body };
}

/** A claim reply (outcome, token or response JSON) -> a `ClaimResult`. */
export function claimOf(outcome: unknown, payload: unknown): ClaimResult {
  switch (outcome) {
    case "claimed":
      return { outcome: "claimed", token: String(payload) };
    case "in_flight":
      return { outcome: "in_flight" };
    case "completed":
      return { outcome: "completed", response: parseResponse(String(payload)) };
    case "mismatch":
      return { outcome: "mismatch" };
    default:
      throw new Error(`RedisIdempotencyStore: unexpected claim reply ${String(outcome)}`);
  }
}

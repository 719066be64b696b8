import { type Admission } from "@alloovium/core";
import {
  checkCredits,
  composeAdmission,
  type AdmissionClaim,
  type AdmissionCredits,
  type AdmissionRequest,
  type AdmissionResult,
  type BucketResult,
} from "@alloovium/core/store-kit";
import { BUCKET_LUA, BUCKETS_ALL_LUA, resultOf, resultsOf, type RedisBucketStore } from "./buckets";
import { randomUUID } from "node:crypto";
import { checkReservation, CREDITS_LUA, LEDGER_CREDITS_LUA, LedgerQueueFull, type RedisCreditStore } from "./credits";
import { CLAIM_LUA, claimOf, type RedisIdempotencyStore } from "./idempotency";
import { kFallback, kFallbackAll, kInternals } from "./internal";
import type { LedgerFlusher } from "./ledger";
import { defineScript } from "./script";

/** KEYS of `ADMIT_SCRIPT`: the credit balance and usage prefix when metered or with a tenant bucket, then that bucket. */
type AdmitKeys =
  | readonly [bucket: string, record: string, sequence: string]
  | readonly [bucket: string, record: string, sequence: string, balance: string, usagePrefix: string]
  | readonly [bucket: string, record: string, sequence: string, balance: string, usagePrefix: string, tenantBucket: string]
  | readonly [bucket: string, record: string, sequence: string, balance: string, ledgerQueue: string, tenantBucket: string, opened: string];

type AdmitHead = readonly [cost: number, capacity: number, refillPerSecond: number, deadline: number, fingerprint: string, leaseMs: number];
type AdmitCredits = readonly [price: number | "", grant: number | "", capability: string, usageRetentionMs: number | ""];

type AdmitTenant = readonly [tenantCapacity: number | "", tenantRefillPerSecond: number | ""];

/**
 * ARGV of `ADMIT_SCRIPT`: the credit part (all '' when not metered but with a tenant bucket), then
 * that bucket's limits ('' without one when a reservation follows), then the reservation id of a
 * charge in front of a ledger.
 */
type AdmitArgs =
  | AdmitHead
  | readonly [...AdmitHead, ...AdmitCredits]
  | readonly [...AdmitHead, ...AdmitCredits, ...AdmitTenant]
  | readonly [...AdmitHead, ...AdmitCredits, ...AdmitTenant, reservation: string, maxQueued: number];

/** The raw reply of `ADMIT_SCRIPT` (decoded by `RedisAdmission`, which knows what it asked for). */
type AdmitReply = readonly [
  status: 1 | 0,
  millionths: number,
  serverNowMs: number,
  claimOutcome: string,
  claimPayload: string,
  creditsOutcome: string,
  balance: number | "",
  charged: number | "",
  hourMs: number | "",
  tenantMillionths?: number | "",
  ledgerQueued?: number,
];

/**
 * The admission: bucket decision, then (only if allowed) the idempotency claim, then (when
 * metered) the credit charge, in one script and one round trip, with core's `composeAdmission`
 * semantics: a refused bucket claims and charges nothing but answers the balance; an
 * `in_flight` or `mismatch` claim answers the balance only; a `completed` claim (a replay) is
 * counted as a call at 0 credits; a short balance deletes the claim just made and answers
 * `insufficient`. Every metered reply carries the balance.
 * KEYS[2] without a claim is any key of the tenant, untouched; KEYS[4], KEYS[5] are needed when
 * metered or with a tenant bucket (placeholders then); KEYS[5] is the usage key prefix (the
 * script appends the hour of server `TIME`; same hash tag, same slot); KEYS[6], the tenant-wide
 * bucket, is taken with KEYS[1] all or nothing.
 * ARGV[6] leaseMs 0 = no claim; without ARGV[7] (or with '') nothing is metered; ARGV[11],
 * ARGV[12] with KEYS[6] only ('' without it when ARGV[13] follows).
 * In front of a ledger, ARGV[13] is the charge's reservation id, ARGV[14] the most entries the
 * tenant's queue may hold (0 = no limit), KEYS[5] the tenant's ledger queue instead of the usage
 * prefix, KEYS[6] the tenant bucket or a placeholder, KEYS[7] the opened marker: the balance key
 * must exist (else the script writes nothing and answers `unknown`: the caller loads the balance
 * from the ledger and runs it again; or, when the buckets would refuse, answers the refusal with
 * no credit part, so that a 429 never waits for the ledger), and the queue must not be full
 * (else it writes nothing and answers `full` unless the buckets would refuse); a charge (0
 * credits included) is queued as a ledger entry after the opening grant of a balance kept
 * before the ledger (`ledger_open`), and no usage is counted in Redis.
 * Returns { 1 | 0 | -1 late, tokens, server now ms, claim outcome | '', token | response JSON | '',
 * 'charged' | 'insufficient' | 'balance' | 'unknown' | '', balance, credits charged, hour ms,
 * [ tenant bucket tokens before the cost, in millionths | '' ], [ ledger queue length after ] }.
 */
export const ADMIT_SCRIPT = defineScript<AdmitKeys, AdmitArgs, AdmitReply>({
  name: "admit",
  keys: ["bucket", "idempotency record", "the tenant's token counter", "credit balance", "usage key prefix", "tenant-wide bucket", "opened marker"],
  args: ["cost", "capacity", "refillPerSecond", "deadline", "fingerprint", "leaseMs", "price", "grant", "capability", "usageRetentionMs", "tenant bucket capacity", "tenant bucket refillPerSecond", "reservation", "maxQueued"],
  uses: [BUCKET_LUA, BUCKETS_ALL_LUA, CLAIM_LUA, CREDITS_LUA, LEDGER_CREDITS_LUA],
  lua: `
local ledger = ARGV[13] ~= nil
local tenantBucket = ARGV[11] ~= nil and ARGV[11] ~= ''
local held
if ledger then
  held = redis.call('GET', KEYS[4])
  local stop
  if not held then stop = 'unknown' elseif ledger_full(KEYS[5], tonumber(ARGV[14])) then stop = 'full' end
  if stop then
    -- The bucket's decision first, without taking: a refusal needs no balance (nothing is charged).
    local cost = tonumber(ARGV[1])
    local tokens = bucket_held(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), sec, usec)
    local ok = tokens + 1e-9 >= cost
    local r = {0, math.floor(tokens * 1000000), math.floor(now), '', '', stop, '', '', ''}
    if tenantBucket then
      local shared = bucket_held(KEYS[6], tonumber(ARGV[11]), tonumber(ARGV[12]), sec, usec)
      ok = ok and shared + 1e-9 >= cost
      r[10] = math.floor(shared * 1000000)
    end
    if ok then return r end
    if stop == 'unknown' then
      r[6] = ''
      return r
    end
  end
end
local allowed, tokens, shared
if tenantBucket then
  local counts
  allowed, counts = buckets_all({KEYS[1], KEYS[6]}, tonumber(ARGV[1]), {{tonumber(ARGV[2]), tonumber(ARGV[3])}, {tonumber(ARGV[11]), tonumber(ARGV[12])}}, t, sec, usec)
  tokens = counts[1]
  shared = counts[2]
else
  local cost, capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
  tokens = bucket_held(KEYS[1], capacity, rate, sec, usec)
  allowed = tokens + 1e-9 >= cost
  if allowed then bucket_take(KEYS[1], tokens, cost, capacity, rate, t) end
end
local r = {allowed and 1 or 0, math.floor(tokens * 1000000), math.floor(now), '', '', '', '', '', ''}
if shared then r[10] = math.floor(shared * 1000000) end
if allowed and tonumber(ARGV[6]) > 0 then
  local c = claim(KEYS[2], KEYS[3], ARGV[5], tonumber(ARGV[6]), t, now)
  r[4] = c[1]
  r[5] = c[2] or ''
end
if ARGV[7] == nil or ARGV[7] == '' then return r end
if not allowed or r[4] == 'in_flight' or r[4] == 'mismatch' then
  r[6] = 'balance'
  r[7] = ledger and tonumber(held) or balance_of(KEYS[4], ARGV[8])
  return r
end
local price = tonumber(ARGV[7])
if r[4] == 'completed' then price = 0 end
local hour = usage_hour(sec)
local ok, balance
if ledger then
  local n
  ok, balance, n = ledger_charge(KEYS[4], held, KEYS[5], KEYS[7], ARGV[9], price, ARGV[13], math.floor(now))
  r[10] = r[10] or ''
  r[11] = n
else
  ok, balance = charge(KEYS[4], KEYS[5], ARGV[9], price, ARGV[8], tonumber(ARGV[10]), hour)
end
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
  decode: (r) => r as AdmitReply,
});

/** How often the admission may find the balance unknown in a row (lost again just after its load) before the credits fail. */
const MAX_LOADS = 3;

const bucketOnly = (bucket: BucketResult): AdmissionResult => ({ bucket });
const bothBuckets = ([bucket, tenant]: BucketResult[]): AdmissionResult => ({ bucket: bucket!, tenant: tenant! });

/**
 * An `Admission` that makes the bucket decision, the idempotency claim and the credit charge in
 * one Lua script (one round trip) when a claim or a charge is asked for, and runs the bucket
 * script alone otherwise. Same semantics as core's `composeAdmission`: a refused bucket claims
 * and charges nothing; an `in_flight` or `mismatch` claim is not charged; a replay is counted at
 * 0 credits; a short balance deletes the claim just made. Every metered answer carries the
 * balance. A tenant-wide bucket (`request.tenant`) is decided with the credential's, all or
 * nothing, in the same script (its key shares the tenant's hash tag, so one Cluster slot).
 *
 * When Redis fails, each part fails its own way: the bucket open onto the local share (or
 * closed: `admit` throws), the claim closed as `{ outcome: "unavailable" }` (or open onto a
 * local store), the credits open as `{ outcome: "unavailable" }`, uncharged (or closed: `admit`
 * throws).
 * @example
 * const admission = new RedisAdmission(buckets, idempotency, credits);
 * const { bucket, claim, credits: charged } = await admission.admit({ bucket: ref, cost: 1, limits,
 *   claim: { ref: idemRef, fingerprint, leaseMs: 60_000 }, charge: { capability: "vault.projects.create", credits: 2, grant: 100_000 } });
 */
export class RedisAdmission implements Admission {
  /** The store `charge` parts go to; the policy reads balances and refunds through it. */
  readonly credits?: RedisCreditStore;
  /** Tenant-wide buckets are decided in the same script as the credential's. */
  readonly tenantBuckets = true;
  readonly #buckets: RedisBucketStore;
  readonly #idempotency: RedisIdempotencyStore;
  readonly #composed: Admission;
  /** With a credit store in front of a ledger: its flusher (charges are queued for it). */
  readonly #ledger: LedgerFlusher | undefined;
  readonly #retentionMs: number;

  /** `credits` is optional: without it, `charge` parts of requests are ignored (nothing is metered). */
  constructor(buckets: RedisBucketStore, idempotency: RedisIdempotencyStore, credits?: RedisCreditStore) {
    if (!buckets || !(kInternals in buckets)) throw new TypeError("RedisAdmission: `buckets` must be a RedisBucketStore");
    if (!idempotency || !(kInternals in idempotency)) throw new TypeError("RedisAdmission: `idempotency` must be a RedisIdempotencyStore");
    const b = buckets[kInternals];
    const i = idempotency[kInternals];
    if (b.conn.client !== i.conn.client || b.keys.prefix !== i.keys.prefix) {
      throw new TypeError("RedisAdmission: `buckets` and `idempotency` must share one client and keyPrefix");
    }
    if (credits !== undefined) {
      if (!credits || !(kInternals in credits)) throw new TypeError("RedisAdmission: `credits` must be a RedisCreditStore");
      const c = credits[kInternals];
      if (c.conn.client !== b.conn.client || c.keys.prefix !== b.keys.prefix) {
        throw new TypeError("RedisAdmission: `credits` must share the client and keyPrefix of `buckets` and `idempotency`");
      }
      this.credits = credits;
    }
    this.#buckets = buckets;
    this.#idempotency = idempotency;
    this.#composed = composeAdmission(buckets, idempotency, credits);
    this.#ledger = credits?.[kInternals].ledger;
    this.#retentionMs = credits ? credits[kInternals].retentionMs : 0;
  }

  admit(request: AdmissionRequest): Promise<AdmissionResult> {
    // The hot path: no claim, nothing metered. The bucket's own promise, no extra async hop.
    if (!request.claim && !(request.charge && this.credits)) {
      if (request.tenant) return this.#buckets.consumeAll([{ ref: request.bucket, limits: request.limits }, request.tenant], request.cost).then(bothBuckets);
      return this.#buckets.consume(request.bucket, request.cost, request.limits).then(bucketOnly);
    }
    return this.#admit(request);
  }

  async #admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const { bucket: ref, cost, limits, claim, tenant } = request;
    const credits = this.credits;
    const charge = credits ? request.charge : undefined;
    if (charge) {
      checkCredits("RedisAdmission.admit", "charge.credits", charge.credits, 0);
      checkCredits("RedisAdmission.admit", "charge.grant", charge.grant, 0);
      if (typeof charge.capability !== "string" || charge.capability === "") throw new TypeError("RedisAdmission.admit: `charge.capability` must be a non-empty string");
    }
    // Different tenants would mean different slots: separate scripts (never happens in the pipeline).
    if ((claim && claim.ref.tenantId !== ref.tenantId) || (tenant && tenant.ref.tenantId !== ref.tenantId)) return this.#composedAdmit(request);
    const { conn, keys } = this.#buckets[kInternals];
    const tenantId = ref.tenantId;
    const flusher = charge ? this.#ledger : undefined;
    const reservation = flusher ? (charge!.reservation ?? randomUUID()) : undefined;
    if (reservation !== undefined) checkReservation("RedisAdmission.admit", reservation);
    const sequence = keys.sequence(tenantId);
    const leaseMs = claim ? Math.max(1, Math.ceil(claim.leaseMs)) : 0;
    const k: [string, string, string, ...string[]] = [keys.bucket(tenantId, ref.id), claim ? keys.idempotency(claim.ref.tenantId, claim.ref.scope, claim.ref.key) : sequence, sequence];
    const args: [number, number, number, number, string, number, ...(string | number)[]] = [cost, limits.capacity, limits.refillPerSecond, 0, claim ? claim.fingerprint : "", leaseMs];
    if (charge) {
      k.push(keys.credits(tenantId), flusher ? keys.ledgerQueue(tenantId) : keys.usagePrefix(tenantId));
      args.push(charge.credits, charge.grant, charge.capability, this.#retentionMs);
    } else if (tenant) {
      k.push(sequence, sequence); // placeholders (untouched): KEYS[6] is the tenant bucket
      args.push("", "", "", "");
    }
    if (tenant) {
      k.push(keys.bucket(tenantId, tenant.ref.id));
      args.push(tenant.limits.capacity, tenant.limits.refillPerSecond);
    } else if (reservation !== undefined) {
      k.push(sequence); // placeholder (untouched): KEYS[7] follows
      args.push("", "");
    }
    if (reservation !== undefined) {
      k.push(keys.ledgerOpened(tenantId));
      args.push(reservation, flusher!.maxQueued);
    }
    let reply: AdmitReply;
    for (let loads = 0; ; loads++) {
      try {
        // The optional tail is pushed above in the order the script's KEYS and ARGV name it.
        reply = await conn.decision(ADMIT_SCRIPT, k as unknown as AdmitKeys, args as unknown as AdmitArgs);
      } catch (error) {
        // The script is atomic, and one that ran after its deadline wrote nothing: as far as this
        // process can tell, no part happened.
        return this.#fallback(request, charge !== undefined, leaseMs, error);
      }
      if (reply[5] === "full") return this.#unloaded(request, new LedgerQueueFull());
      if (reply[5] !== "unknown") break;
      // Redis has no balance for the tenant (lost, or never seen) and wrote nothing: load it from the ledger, then again.
      try {
        if (loads >= MAX_LOADS) throw new Error("RedisAdmission: the balance was lost again after each load");
        await credits!.load(tenantId, charge!.grant);
      } catch (error) {
        return this.#unloaded(request, error);
      }
    }
    if (flusher && reply[10] !== undefined) flusher.appended(tenantId, Number(reply[10]));
    const allowed = reply[0] === 1;
    const buckets = tenant
      ? bothBuckets(resultsOf({ allowed, tokens: [reply[1] / 1_000_000, Number(reply[9]) / 1_000_000] }, cost, [{ ref, limits }, tenant]))
      : { bucket: resultOf({ allowed, tokens: reply[1] / 1_000_000 }, cost, limits) };
    const claimed = buckets.bucket.allowed && claim ? claimOf(reply[3], reply[4]) : undefined;
    if (!charge) return claimed ? { ...buckets, claim: claimed } : buckets;
    // Refused by the buckets while the balance is unknown: no credit part (nothing to charge, and no ledger read for a 429).
    if (reply[5] === "") return buckets;
    const charged = creditsOf(reply);
    // A short balance released the claim inside the script: the request has none.
    if (charged.outcome === "insufficient" || !claimed) return { ...buckets, credits: charged };
    return { ...buckets, claim: claimed, credits: charged };
  }

  async #fallback(request: AdmissionRequest, metered: boolean, leaseMs: number, error: unknown): Promise<AdmissionResult> {
    const { bucket: ref, cost, limits, claim, tenant } = request;
    // Throws when the buckets fail closed.
    const buckets = tenant ? bothBuckets(this.#buckets[kFallbackAll]([{ ref, limits }, tenant], cost, error)) : { bucket: this.#buckets[kFallback](ref, cost, limits, error) };
    const credits = metered ? this.credits![kFallback](error) : undefined; // throws when credits fail closed
    if (!buckets.bucket.allowed || !claim) return credits ? { ...buckets, credits } : buckets;
    const c: AdmissionClaim = await this.#idempotency[kFallback](claim.ref, claim.fingerprint, leaseMs, error);
    return credits ? { ...buckets, claim: c, credits } : { ...buckets, claim: c };
  }

  /**
   * The ledger failed to give a lost balance: the admission goes on without the charge (bucket
   * and claim as usual), and the credit part fails as a Redis failure of the credits does (open:
   * `unavailable`, uncharged; closed: throws).
   */
  async #unloaded(request: AdmissionRequest, error: unknown): Promise<AdmissionResult> {
    const credits = this.credits![kFallback](error); // throws when credits fail closed
    const { charge: _, ...uncharged } = request;
    const result = await this.admit(uncharged);
    return { ...result, credits };
  }

  async #composedAdmit(request: AdmissionRequest): Promise<AdmissionResult> {
    const result = await this.#composed.admit(request);
    const credits = result.credits;
    if (credits?.outcome !== "unavailable") return result;
    const store = this.credits!; // a credit part comes only from a credit store
    if (store[kInternals].failure === "open") {
      store[kFallback](credits.error);
      return result;
    }
    // Fails closed: give back the claim just made, then throw as the one-script path does.
    if (result.claim?.outcome === "claimed" && request.claim) await this.#idempotency.release(request.claim.ref, result.claim.token).catch(() => {});
    store[kFallback](credits.error); // throws
    throw credits.error;
  }
}

/** The credit part of an admission reply (elements 6 to 9). */
function creditsOf(reply: AdmitReply): AdmissionCredits {
  const balance = Number(reply[6]);
  switch (reply[5]) {
    case "charged":
      return { outcome: "charged", balance, credits: Number(reply[7]), hour: Number(reply[8]) };
    case "insufficient":
      return { outcome: "insufficient", balance };
    case "balance":
      return { outcome: "balance", balance };
    default:
      throw new Error(`RedisAdmission: unexpected credits reply ${String(reply[5])}`);
  }
}

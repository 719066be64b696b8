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
import { CLAIM_SCRIPT, COMPLETE_SCRIPT, RELEASE_SCRIPT } from "./scripts";

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
      const reply = await this.#conn.decision(
        CLAIM_SCRIPT,
        [this.#key(ref), this.#keys.sequence(ref.tenantId)],
        [fingerprint, leaseMs, "", 0],
      );
      return claimOf(reply[0], reply[1]);
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
    return (await this.#conn.script(COMPLETE_SCRIPT, [this.#key(ref)], [token, body, ttlMs])) === 1;
  }

  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    if (token.startsWith(LOCAL)) return this.#local.release(ref, token.slice(LOCAL.length));
    return (await this.#conn.script(RELEASE_SCRIPT, [this.#key(ref)], [token])) === 1;
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

import { systemClock, type Clock } from "../clock";
import type { ClaimResult, IdempotencyRecord, IdempotencyRef, IdempotencyStore, StoredResponse } from "./store";

/** Options of `MemoryIdempotencyStore`. */
export interface MemoryIdempotencyStoreOptions {
  /** @default systemClock */
  readonly clock?: Clock;
}

type Rec =
  | { state: "in_flight"; fingerprint: string; token: string; until: number }
  | { state: "completed"; fingerprint: string; response: StoredResponse; until: number };

/**
 * A process-local `IdempotencyStore`; expired records are dropped on access and by a sweep.
 * @example createPolicy({ ...options, stores: { keys, idempotency: new MemoryIdempotencyStore() } })
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #clock: Clock;
  readonly #records = new Map<string, Rec>();
  // Tokens grow across the whole store, so a key's later claim always has a greater token.
  #counter = 0;
  #ops = 0;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  #id(ref: IdempotencyRef): string {
    return `${ref.tenantId}\u0000${ref.scope}\u0000${ref.key}`;
  }

  #live(id: string, now: number): Rec | undefined {
    const r = this.#records.get(id);
    if (r && r.until <= now) {
      this.#records.delete(id);
      return undefined;
    }
    return r;
  }

  async claim(ref: IdempotencyRef, fingerprint: string, options: { readonly leaseMs: number }): Promise<ClaimResult> {
    const now = this.#clock.now();
    if (++this.#ops % 1024 === 0) this.#sweep(now);
    const id = this.#id(ref);
    const r = this.#live(id, now);
    if (r) {
      if (r.fingerprint !== fingerprint) return { outcome: "mismatch" };
      return r.state === "completed" ? { outcome: "completed", response: r.response } : { outcome: "in_flight" };
    }
    const token = String(++this.#counter);
    this.#records.set(id, { state: "in_flight", fingerprint, token, until: now + options.leaseMs });
    return { outcome: "claimed", token };
  }

  async complete(ref: IdempotencyRef, token: string, response: StoredResponse, options: { readonly ttlMs: number }): Promise<boolean> {
    const now = this.#clock.now();
    const id = this.#id(ref);
    const r = this.#live(id, now);
    if (!r || r.state !== "in_flight" || r.token !== token) return false;
    this.#records.set(id, {
      state: "completed",
      fingerprint: r.fingerprint,
      response: { status: response.status, headers: { ...response.headers }, body: response.body },
      until: now + options.ttlMs,
    });
    return true;
  }

  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    const id = this.#id(ref);
    const r = this.#live(id, this.#clock.now());
    if (!r || r.state !== "in_flight" || r.token !== token) return false;
    this.#records.delete(id);
    return true;
  }

  async read(ref: IdempotencyRef): Promise<IdempotencyRecord | null> {
    const r = this.#live(this.#id(ref), this.#clock.now());
    if (!r) return null;
    return r.state === "in_flight"
      ? { state: "in_flight", fingerprint: r.fingerprint, token: r.token, leaseExpiresAt: r.until }
      : { state: "completed", fingerprint: r.fingerprint, response: r.response, expiresAt: r.until };
  }

  /** Records held now, expired ones included until swept. */
  get size(): number {
    return this.#records.size;
  }

  #sweep(now: number): void {
    for (const [id, r] of this.#records) if (r.until <= now) this.#records.delete(id);
  }
}

import { createHash } from "node:crypto";

/**
 * The key layout. Every key of a tenant starts with `${prefix}:{${tenant}}:`, so the tenant is
 * the Cluster hash tag and all of a tenant's keys (bucket, idempotency record, token counter,
 * key records) live in one slot; multi-key scripts never see CROSSSLOT.
 *
 * - `${prefix}:{${tenant}}:b:${bucketId}`          bucket: string "<tokens> <TIME s> <TIME µs>"
 * - `${prefix}:{${tenant}}:i:${sha256(scope\nkey)}` idempotency record hash
 * - `${prefix}:{${tenant}}:seq`                    fencing-token counter
 * - `${prefix}:{${tenant}}:keys`                   API key records (hash id -> JSON)
 * - `${prefix}:{${tenant}}:keys:used`              last_used_at (hash id -> ISO time), moved only forward
 * - `${prefix}:{${tenant}}:keys:order`             key records' newest-first index (sorted set, lexical:
 *                                                  "<created_at ms, 15 digits>:<id>")
 * - `${prefix}:{${tenant}}:keys:active`            ids of keys not revoked, scored by expires_at ms
 * - `${prefix}:{${tenant}}:cr`                     credit balance (integer string; absent = the grant)
 * - `${prefix}:{${tenant}}:u:${hourStartMs}`       usage of one hour (hash `c:<capability>` calls,
 *                                                  `k:<capability>` credits), expiring `usageRetentionMs`
 *                                                  after the end of its hour
 * - `${prefix}:{${tenant}}:lq`                     ledger queue (with a `ledger`): list of entries, oldest
 *                                                  first, each "kind TAB amount TAB at TAB ref TAB capability"
 *                                                  (ledger.ts); appended by the credit scripts
 * - `${prefix}:{${tenant}}:lq:lease`               the flusher holding the tenant's queue (token, PX lease)
 * - `${prefix}:{${tenant}}:lq:open`                the balance is known to the ledger's queue ('1')
 * - `${prefix}:{${tenant}}:lq:dead`                entries the ledger refused, set aside (list)
 * - `${prefix}:lq:pending`                         tenants whose queue may hold entries (set; any slot)
 * - `${prefix}:kd:${digest}`                       digest index -> [tenant, id] (any slot)
 * - `${prefix}:kid:${id}`                          id -> tenant (keeps a key in its tenant)
 * - channel `${prefix}:key-invalidations`          digests of changed keys
 */
export class KeyLayout {
  readonly prefix: string;
  readonly channel: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.channel = `${prefix}:key-invalidations`;
  }

  /** The hash-tagged tenant part. */
  tenant(tenantId: string): string {
    return `${this.prefix}:{${tag(tenantId)}}`;
  }

  bucket(tenantId: string, bucketId: string): string {
    return `${this.tenant(tenantId)}:b:${bucketId}`;
  }

  idempotency(tenantId: string, scope: string, key: string): string {
    return `${this.tenant(tenantId)}:i:${createHash("sha256").update(`${scope}\n${key}`).digest("base64url")}`;
  }

  sequence(tenantId: string): string {
    return `${this.tenant(tenantId)}:seq`;
  }

  keyRecords(tenantId: string): string {
    return `${this.tenant(tenantId)}:keys`;
  }

  /** The tenant's `last_used_at` times, kept apart from the records so a touch never rewrites one. */
  keysUsed(tenantId: string): string {
    return `${this.tenant(tenantId)}:keys:used`;
  }

  /** The tenant's key records in newest-first order (list pages read it, never every record). */
  keyOrder(tenantId: string): string {
    return `${this.tenant(tenantId)}:keys:order`;
  }

  /** The tenant's keys that are not revoked, scored by expiry: the active-key cap counts it. */
  keysActive(tenantId: string): string {
    return `${this.tenant(tenantId)}:keys:active`;
  }

  credits(tenantId: string): string {
    return `${this.tenant(tenantId)}:cr`;
  }

  /** The usage key of one hour: `usagePrefix(tenant) + hourStartMs`. */
  usage(tenantId: string, hourStartMs: number): string {
    return `${this.usagePrefix(tenantId)}${hourStartMs}`;
  }

  /**
   * What the charge scripts get in KEYS and append the hour of the server's `TIME` to (the
   * client does not know the server's hour for sure; the hash tag keeps both in one slot).
   */
  usagePrefix(tenantId: string): string {
    return `${this.tenant(tenantId)}:u:`;
  }

  /** The tenant's ledger queue: entries waiting for the flush, in the tenant's slot. */
  ledgerQueue(tenantId: string): string {
    return `${this.tenant(tenantId)}:lq`;
  }

  /** The lease of the flusher taking the tenant's queue. */
  ledgerLease(tenantId: string): string {
    return `${this.tenant(tenantId)}:lq:lease`;
  }

  /**
   * Present once the tenant's balance is known to the ledger's queue: set by the load, or by the
   * first ledger-mode script that finds a balance kept before the ledger (it queues the opening
   * grant then).
   */
  ledgerOpened(tenantId: string): string {
    return `${this.tenant(tenantId)}:lq:open`;
  }

  /** Entries the ledger refused again and again, set aside so the tenant's queue moves on. */
  ledgerDead(tenantId: string): string {
    return `${this.tenant(tenantId)}:lq:dead`;
  }

  /** The set of tenants whose ledger queue may hold entries (one key, any slot). */
  get ledgerPending(): string {
    return `${this.prefix}:lq:pending`;
  }

  /** The tenant of a ledger queue key (`SCAN`'s answer), or null for another key. */
  tenantOfLedgerQueue(key: string): string | null {
    const head = `${this.prefix}:{`;
    if (!key.startsWith(head) || !key.endsWith("}:lq")) return null;
    return untag(key.slice(head.length, -"}:lq".length));
  }

  digestIndex(digest: string): string {
    return `${this.prefix}:kd:${digest}`;
  }

  idIndex(id: string): string {
    return `${this.prefix}:kid:${id}`;
  }
}

// A tenant id with a brace (or none at all) would move or empty the hash tag; escape braces
// and `%` so the mapping stays one-to-one and the tag is always the whole tenant id.
function tag(tenantId: string): string {
  if (tenantId === "") return "%";
  return /[{}%]/.test(tenantId) ? tenantId.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) : tenantId;
}

/** The inverse of `tag`. */
function untag(t: string): string {
  if (t === "%") return "";
  return t.replace(/%([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

import type { Capability } from "../capabilities";
import { headerValues } from "../http/headers";
import type { PolicyRequest } from "../pipeline/request";
import { isPolicyError, policyError, type PolicyError } from "../problems/problem";
import { requestFingerprint } from "./fingerprint";
import { idempotencyKeyRequired } from "./problems";
import type { IdempotencyRef } from "./store";

/** Longest accepted key, in characters. */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

function invalid(why: string): PolicyError {
  return policyError(
    "invalid_idempotency_key",
    `The Idempotency-Key header ${why}; send 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters, bare or as a quoted string.`,
  );
}

function visible(code: number): boolean {
  return code >= 0x21 && code <= 0x7e;
}

/**
 * Parses the `Idempotency-Key` header values: one value, either an RFC 8941 string (`"abc"`,
 * with `\"` and `\\` escapes) or bare (`abc`, as Stripe's clients send it). The key is 1 to 255
 * visible ASCII characters (0x21-0x7E) once unquoted.
 * @example parseIdempotencyKey(['"create-tower-1"']) // { key: "create-tower-1" }
 */
export function parseIdempotencyKey(values: readonly string[]): { readonly key: string } | PolicyError {
  if (values.length !== 1) return invalid("must be sent once");
  const raw = (values[0] as string).trim();
  if (raw.length === 0) return invalid("is empty");
  // The quoted form of the longest key is at most 2 + 2 * 255 characters; stop reading long input early.
  if (raw.length > 2 + 2 * IDEMPOTENCY_KEY_MAX_LENGTH) return invalid("is too long");
  if (raw.charCodeAt(0) !== 0x22) {
    for (let i = 0; i < raw.length; i++) if (!visible(raw.charCodeAt(i))) return invalid("has a character that is not visible ASCII");
    if (raw.length > IDEMPOTENCY_KEY_MAX_LENGTH) return invalid("is too long");
    return { key: raw };
  }
  let key = "";
  let i = 1;
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x5c) {
      const next = raw.charCodeAt(i + 1);
      if (next !== 0x22 && next !== 0x5c) return invalid("has a bad escape in its quoted string");
      key += raw[i + 1];
      i++;
    } else if (c === 0x22) {
      break;
    } else if (!visible(c)) {
      return invalid("has a character that is not visible ASCII");
    } else {
      key += raw[i];
    }
  }
  if (i !== raw.length - 1) return invalid("is not a well-formed quoted string");
  if (key.length === 0) return invalid("is empty");
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH) return invalid("is too long");
  return { key };
}

/** The Idempotency-Key of one request: a problem, or the record it claims and its fingerprint. */
export type IdempotencyDemand = { readonly error: PolicyError } | { readonly ref: IdempotencyRef; readonly fingerprint: string };

/**
 * Reads a request's Idempotency-Key (judged only after the bucket, as the order of checks says):
 * none (`undefined`; 400 `idempotency_key_required` where the capability requires one), a
 * malformed or repeated header (400), or the record it claims, under `owner` (the caller's tenant
 * and `user:environment` scope), with the request's fingerprint (method, path and body).
 */
export function idempotencyDemand(
  request: PolicyRequest,
  capability: Pick<Capability, "id" | "requireIdempotencyKey">,
  owner: Omit<IdempotencyRef, "key">,
): IdempotencyDemand | undefined {
  const values = headerValues(request.headers, "idempotency-key");
  if (values.length === 0) return capability.requireIdempotencyKey ? { error: idempotencyKeyRequired(capability.id) } : undefined;
  const parsed = parseIdempotencyKey(values);
  if (isPolicyError(parsed)) return { error: parsed };
  return {
    ref: { tenantId: owner.tenantId, scope: owner.scope, key: parsed.key },
    fingerprint: requestFingerprint(request.method, request.path, request.body, request.rawBody),
  };
}

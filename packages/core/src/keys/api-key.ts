import { randomBytes } from "node:crypto";
import { BASE62_ALPHABET, base62Digit, encodeBase62 } from "./base62";
import { crc32Ascii } from "./crc32";

/** The environments a key (and a deployment) can belong to. */
export type Environment = "live" | "test";
export const ENVIRONMENTS: readonly Environment[] = ["live", "test"];

export const API_KEY_BODY_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
/** `ak_live_` + 32 + 6. */
export const API_KEY_LENGTH = 8 + API_KEY_BODY_LENGTH + API_KEY_CHECKSUM_LENGTH;
/** Length of the display prefix (`ak_live_AB7K`). Not unique: never look a key up by it. */
export const API_KEY_PREFIX_LENGTH = 12;

/** A key that passed the format and checksum checks. */
export interface ParsedApiKey {
  readonly raw: string;
  readonly environment: Environment;
  readonly body: string;
  readonly checksum: string;
  /** The 12-character display prefix. */
  readonly prefix: string;
}

/** Why a string is not an API key. */
export type ApiKeyFormatError = "length" | "prefix" | "environment" | "alphabet" | "checksum";

/** The 6-character base62 CRC-32 checksum of `ak_{env}_{body}`. */
export function apiKeyChecksum(head: string): string {
  return encodeBase62(crc32Ascii(head), API_KEY_CHECKSUM_LENGTH);
}

/**
 * Checks format and checksum with no store lookup.
 * @example parseApiKey("ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m").ok === true
 */
export function parseApiKey(
  raw: string,
): { readonly ok: true; readonly key: ParsedApiKey } | { readonly ok: false; readonly reason: ApiKeyFormatError } {
  if (typeof raw !== "string" || raw.length !== API_KEY_LENGTH) return { ok: false, reason: "length" };
  if (!raw.startsWith("ak_") || raw.charCodeAt(7) !== 95 /* _ */) return { ok: false, reason: "prefix" };
  const env = raw.slice(3, 7);
  if (env !== "live" && env !== "test") return { ok: false, reason: "environment" };
  for (let i = 8; i < API_KEY_LENGTH; i++) {
    if (base62Digit(raw.charCodeAt(i)) < 0) return { ok: false, reason: "alphabet" };
  }
  const headEnd = API_KEY_LENGTH - API_KEY_CHECKSUM_LENGTH;
  const checksum = raw.slice(headEnd);
  if (encodeBase62(crc32Ascii(raw, headEnd), API_KEY_CHECKSUM_LENGTH) !== checksum) {
    return { ok: false, reason: "checksum" };
  }
  return {
    ok: true,
    key: {
      raw,
      environment: env,
      body: raw.slice(8, headEnd),
      checksum,
      prefix: raw.slice(0, API_KEY_PREFIX_LENGTH),
    },
  };
}

/** The display prefix of a raw key: its first 12 characters. */
export function apiKeyPrefix(raw: string): string {
  return raw.slice(0, API_KEY_PREFIX_LENGTH);
}

/**
 * A new random key for `environment`: 32 base62 characters from a CSPRNG (rejection sampling,
 * so every character is uniform: about 190 bits) and the checksum.
 * @example generateApiKey("test") // "ak_test_…"
 */
export function generateApiKey(
  environment: Environment,
  random: (size: number) => Uint8Array = randomBytes,
): string {
  if (environment !== "live" && environment !== "test") {
    throw new TypeError(`generateApiKey: environment must be "live" or "test", got ${String(environment)}`);
  }
  let body = "";
  while (body.length < API_KEY_BODY_LENGTH) {
    const bytes = random(48);
    for (let i = 0; i < bytes.length && body.length < API_KEY_BODY_LENGTH; i++) {
      const b = bytes[i] as number;
      if (b < 248) body += BASE62_ALPHABET[b % 62]; // 248 = 4 * 62: no modulo bias
    }
  }
  const head = `ak_${environment}_${body}`;
  return head + apiKeyChecksum(head);
}

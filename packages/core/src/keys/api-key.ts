import { randomBytes } from "node:crypto";
import { BASE62_ALPHABET, BASE62_DIGITS, encodeBase62 } from "./base62";
import { CRC32_TABLE, crc32Ascii } from "./crc32";

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
 * The environment of a well-formed key with a valid checksum, or why it is not one. The
 * allocation-free check the pipeline runs on every request; `parseApiKey` adds the parts.
 */
export function checkApiKey(raw: string): Environment | ApiKeyFormatError {
  if (typeof raw !== "string" || raw.length !== API_KEY_LENGTH) return "length";
  if (raw.charCodeAt(0) !== 97 || raw.charCodeAt(1) !== 107 || raw.charCodeAt(2) !== 95 || raw.charCodeAt(7) !== 95) return "prefix";
  const env = raw.startsWith("live", 3) ? "live" : raw.startsWith("test", 3) ? "test" : null;
  if (env === null) return "environment";
  // One pass over the head: its CRC, and the alphabet check of the body (a code unit above 255
  // indexes past the table and reads undefined, which fails the check too).
  let c = -1;
  for (let i = 0; i < 8; i++) c = (CRC32_TABLE[(c ^ raw.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8);
  for (let i = 8; i < 40; i++) {
    const ch = raw.charCodeAt(i);
    if (!((BASE62_DIGITS[ch] as number) >= 0)) return "alphabet";
    c = (CRC32_TABLE[(c ^ ch) & 0xff] as number) ^ (c >>> 8);
  }
  let sum = 0;
  for (let i = 40; i < API_KEY_LENGTH; i++) {
    const d = BASE62_DIGITS[raw.charCodeAt(i)] as number;
    if (!(d >= 0)) return "alphabet";
    sum = sum * 62 + d;
  }
  return sum === ~c >>> 0 ? env : "checksum";
}

/**
 * Checks format and checksum with no store lookup.
 * @example parseApiKey("ak_live_AB7K2LJ9xQpR4sT8uVwY1zC3dE5fG6hJ3tdo4m").ok === true
 */
export function parseApiKey(
  raw: string,
): { readonly ok: true; readonly key: ParsedApiKey } | { readonly ok: false; readonly reason: ApiKeyFormatError } {
  const env = checkApiKey(raw);
  if (env !== "live" && env !== "test") return { ok: false, reason: env };
  const headEnd = API_KEY_LENGTH - API_KEY_CHECKSUM_LENGTH;
  return {
    ok: true,
    key: {
      raw,
      environment: env,
      body: raw.slice(8, headEnd),
      checksum: raw.slice(headEnd),
      prefix: raw.slice(0, API_KEY_PREFIX_LENGTH),
    },
  };
}

/**
 * The display prefix of a raw key: its first 12 characters (what lists and logs may show).
 * @example apiKeyPrefix(generateApiKey("live")) // "ak_live_AB7K"
 */
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

/** The base62 alphabet of keys and checksums, in digit order. */
export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Value of each code unit below 256 as a base62 digit, -1 when it is not one. */
export const BASE62_DIGITS = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE62_ALPHABET.length; i++) BASE62_DIGITS[BASE62_ALPHABET.charCodeAt(i)] = i;

/** Value of one base62 character, or -1. */
export function base62Digit(charCode: number): number {
  return charCode < 256 ? (BASE62_DIGITS[charCode] as number) : -1;
}

/** `n` (a non-negative safe integer) in base62, most significant digit first, left-padded with `0`. */
export function encodeBase62(n: number, width: number): string {
  let out = "";
  let v = n;
  do {
    out = BASE62_ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.length >= width ? out : "0".repeat(width - out.length) + out;
}

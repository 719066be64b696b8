// CRC-32 (IEEE 802.3, reflected 0xEDB88320), the same as zlib.crc32; written here so that the
// core runs on runtimes without node:zlib.
// The state is kept as a signed 32-bit integer so that V8 keeps it unboxed.
export const CRC32_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC32_TABLE[n] = c | 0;
}

/** CRC-32 of an ASCII string (code units above 0xFF are truncated; keys are ASCII). */
export function crc32Ascii(s: string, end = s.length): number {
  let c = -1;
  for (let i = 0; i < end; i++) c = (CRC32_TABLE[(c ^ s.charCodeAt(i)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

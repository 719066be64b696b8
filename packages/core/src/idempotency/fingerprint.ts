import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";

/**
 * The request fingerprint an idempotency record is bound to: SHA-256 (hex) over the method,
 * the path and the SHA-256 of the body: its canonical JSON when it parsed, else its raw text
 * (an absent body hashes as empty).
 */
export function requestFingerprint(method: string, path: string, body: unknown, rawBody?: string): string {
  const bodyHash = createHash("sha256")
    .update(body !== undefined ? "j" + canonicalJson(body) : rawBody !== undefined ? "r" + rawBody : "")
    .digest("hex");
  return createHash("sha256").update(`${method.toUpperCase()}\n${path}\n${bodyHash}`).digest("hex");
}

import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";

/**
 * The request fingerprint an idempotency record is bound to: SHA-256 (hex) over the method,
 * the path and the SHA-256 of the body's canonical JSON (an absent body hashes as empty).
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const bodyHash = createHash("sha256")
    .update(body === undefined ? "" : canonicalJson(body))
    .digest("hex");
  return createHash("sha256").update(`${method.toUpperCase()}\n${path}\n${bodyHash}`).digest("hex");
}

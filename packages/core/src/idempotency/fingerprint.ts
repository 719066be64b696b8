import { createHash } from "node:crypto";
import { isWellFormedText } from "../credentials/principal";
import { canonicalJson } from "./canonical-json";

/** What the body hash covers: the canonical JSON, the raw text, or nothing; tagged so none meets another. */
function bodyText(body: unknown, rawBody: string | undefined): string {
  if (body !== undefined) return "j" + canonicalJson(body);
  if (rawBody === undefined) return "";
  // Hashing writes UTF-8, which turns every lone surrogate into U+FFFD: escape such a text instead.
  return isWellFormedText(rawBody) ? "r" + rawBody : "u" + JSON.stringify(rawBody);
}

/**
 * The request fingerprint an idempotency record is bound to: SHA-256 (hex) over the method,
 * the path and the SHA-256 of the body: its canonical JSON when it parsed (`canonicalJson`: key
 * order and white space do not count; `1e400` is not `null`, `-0` is not `0`), else its raw text
 * (an absent body hashes as empty). Bodies with different parsed values never share one.
 * @example requestFingerprint("POST", "/api/v2/vault/projects", { name: "Tower" })
 */
export function requestFingerprint(method: string, path: string, body: unknown, rawBody?: string): string {
  const bodyHash = createHash("sha256").update(bodyText(body, rawBody)).digest("hex");
  return createHash("sha256").update(`${method.toUpperCase()}\n${path}\n${bodyHash}`).digest("hex");
}

/**
 * Request headers that carry credentials in this contract (`Authorization`) or in the peers'
 * (`X-API-Key` and its kin), and cookies either way: what a log must never print.
 */
export const CREDENTIAL_HEADERS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "apikey",
  "x-auth-token",
  "x-access-token",
  "x-alloovium-key",
]);

/** Query parameters (and form fields) that carry credentials in common APIs (refused here, but logged before they are). */
export const CREDENTIAL_QUERY_PARAMETERS: readonly string[] = Object.freeze(["api_key", "apikey", "api-key", "key", "access_token", "token", "auth", "authorization", "jwt", "id_token", "refresh_token"]);

/** Options of `pinoRedaction`. */
export interface PinoRedactionOptions {
  /**
   * The objects headers and queries hang from in your log lines: `req`/`res` (pino-http and
   * Fastify's serializers), `request`/`response`, and `""` for top-level `headers`/`query`.
   * @default ["", "req", "res", "request", "response"]
   */
  readonly under?: readonly string[];
  /** More header names (any case) to redact. @default [] */
  readonly headers?: readonly string[];
  /** More query parameter names to redact. @default [] */
  readonly query?: readonly string[];
  /** What a redacted value reads as. @default "[Redacted]" */
  readonly censor?: string;
}

/**
 * The `redact` option of a pino logger that keeps credentials out of its lines: every
 * `CREDENTIAL_HEADERS` under `headers` and every `CREDENTIAL_QUERY_PARAMETERS` under `query`, at
 * each of `under`. A path cannot reach into a URL string (`req.url`): pass it through
 * `redactCredentials` in a serializer.
 * @example
 * import pino from "pino";
 * const log = pino({ redact: pinoRedaction(), serializers: { req: (r) => ({ method: r.method, url: redactCredentials(r.url), headers: r.headers }) } });
 */
export function pinoRedaction(options: PinoRedactionOptions = {}): { readonly paths: string[]; readonly censor: string } {
  const under = options.under ?? ["", "req", "res", "request", "response"];
  const headers = [...CREDENTIAL_HEADERS, ...(options.headers ?? []).map((h) => h.toLowerCase())];
  const query = [...CREDENTIAL_QUERY_PARAMETERS, ...(options.query ?? [])];
  for (const name of [...headers, ...query]) {
    if (typeof name !== "string" || name === "" || /["\\\n]/.test(name)) throw new TypeError(`pinoRedaction: ${JSON.stringify(name)} is not a name a redact path can hold`);
  }
  const at = (base: string, member: string, name: string) => `${base === "" ? "" : `${base}.`}${member}[${JSON.stringify(name)}]`;
  const paths = new Set<string>();
  for (const base of under) {
    for (const h of headers) paths.add(at(base, "headers", h));
    for (const q of query) paths.add(at(base, "query", q));
  }
  return { paths: [...paths], censor: options.censor ?? "[Redacted]" };
}

// `ak_live_`/`ak_test_` keys (any length of the key's alphabet after the prefix) and JWT-shaped
// tokens (three base64url segments, the first a JSON object: `eyJ`).
const SECRETS = /ak_(?:live|test)_[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

/**
 * The text with every API key (`ak_live_…`, `ak_test_…`) and JWT in it replaced by `censor`:
 * for URLs, messages and anything else a redact path cannot reach.
 * @example redactCredentials("/v2/me?api_key=ak_live_AB7K...") // "/v2/me?api_key=[Redacted]"
 */
export function redactCredentials(text: string, censor = "[Redacted]"): string {
  return typeof text === "string" ? text.replace(SECRETS, censor) : text;
}

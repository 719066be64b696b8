import { request as httpRequest } from "node:http";

/** A request as the suite writes it: the header list is sent as is, duplicates included. */
export interface WireRequest {
  readonly method?: string;
  /** Path and query, e.g. `/api/v2/vault/projects?limit=10`. */
  readonly path: string;
  /** Sent as `Authorization: Bearer <key>` (after `headers`). */
  readonly key?: string;
  /** `[name, value]` pairs, in order; a name may repeat. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** A JSON value (sent with `Content-Type: application/json` unless a content type is given) or raw text/bytes. */
  readonly json?: unknown;
  readonly body?: string | Buffer;
}

/** A response as the suite reads it. */
export interface WireResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", " (use `rawHeaders` to see repeats). */
  readonly headers: Readonly<Record<string, string>>;
  readonly rawHeaders: readonly string[];
  readonly text: string;
  /** The parsed body, or undefined when it is not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  /** The media type without parameters (`application/problem+json`). */
  readonly mediaType: string | undefined;
}

/** Every exchange of a client, so a test can check that no secret was ever echoed. */
export interface Exchange {
  readonly request: WireRequest;
  readonly response: WireResponse;
}

/** A client bound to one server. `agent: false`: one socket per request, as a fresh client would. */
export interface Client {
  readonly baseUrl: string;
  readonly log: Exchange[];
  send(req: WireRequest): Promise<WireResponse>;
  get(path: string, key?: string, headers?: ReadonlyArray<readonly [string, string]>): Promise<WireResponse>;
}

function hasHeader(headers: readonly (readonly [string, string])[], name: string): boolean {
  return headers.some(([n]) => n.toLowerCase() === name);
}

/**
 * Sends one request with Node's `http.request` and a raw header array (so duplicate
 * `Authorization` headers reach the server as two lines) and reads the whole answer.
 */
export function sendRaw(baseUrl: string, req: WireRequest): Promise<WireResponse> {
  const url = new URL(baseUrl);
  const headers: [string, string][] = [["Host", url.host], ...(req.headers ?? []).map(([n, v]) => [n, v] as [string, string])];
  if (req.key !== undefined) headers.push(["Authorization", `Bearer ${req.key}`]);
  let payload: Buffer | undefined;
  if (req.json !== undefined) {
    payload = Buffer.from(JSON.stringify(req.json), "utf8");
    if (!hasHeader(headers, "content-type")) headers.push(["Content-Type", "application/json"]);
  } else if (req.body !== undefined) {
    payload = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body;
  }
  if (payload !== undefined && !hasHeader(headers, "content-length")) headers.push(["Content-Length", String(payload.length)]);
  const flat = headers.flat();

  return new Promise<WireResponse>((resolve, reject) => {
    let answered = false;
    const r = httpRequest(
      { host: url.hostname, port: url.port, method: req.method ?? "GET", path: req.path, headers: flat, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const lower: Record<string, string> = {};
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const n = (raw[i] as string).toLowerCase();
            const v = raw[i + 1] as string;
            lower[n] = n in lower ? `${lower[n]}, ${v}` : v;
          }
          let body: unknown;
          try {
            body = text === "" ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          const ct = lower["content-type"];
          resolve({
            status: res.statusCode ?? 0,
            headers: lower,
            rawHeaders: raw,
            text,
            body,
            mediaType: ct === undefined ? undefined : (ct.split(";")[0] as string).trim().toLowerCase(),
          });
        });
      },
    );
    // A server may answer (413) and close before it has read the whole body: the answer counts.
    r.on("error", (e) => {
      if (!answered) reject(e);
    });
    if (payload !== undefined) r.end(payload);
    else r.end();
  });
}

/**
 * Every exchange of every client made in this test file, in order: the OpenAPI check
 * (contract.test.ts) validates each response against the document.
 */
export const recordedExchanges: Exchange[] = [];

/** A client that records every exchange. */
export function createClient(baseUrl: string): Client {
  const log: Exchange[] = [];
  const send = async (req: WireRequest) => {
    const response = await sendRaw(baseUrl, req);
    log.push({ request: req, response });
    recordedExchanges.push({ request: req, response });
    return response;
  };
  return {
    baseUrl,
    log,
    send,
    get: (path, key, headers) => send({ path, ...(key === undefined ? {} : { key }), ...(headers ? { headers } : {}) }),
  };
}

/** Reads one member of a structured-field list header (`"tokens";q=60;w=60, "credits";q=100`). */
export function sfMember(value: string | undefined, name: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  for (const member of value.split(",")) {
    const parts = member.trim().split(";");
    if (parts[0] !== `"${name}"`) continue;
    const params: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const eq = p.indexOf("=");
      params[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
    }
    return params;
  }
  return undefined;
}

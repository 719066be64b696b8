/**
 * The small, framework-neutral request every adapter builds. Nothing here is parsed ahead of
 * time except the body: the policy reads only what each check needs.
 */
export interface PolicyRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path, without the query string. */
  readonly path: string;
  /** The raw query string without the leading `?` (empty or absent when there is none). */
  readonly query?: string;
  /**
   * The raw header list as `[name, value, name, value, …]` (Node's `req.rawHeaders`), so that
   * duplicates survive. Names in any case.
   */
  readonly headers: readonly string[];
  /** Cookies when the framework already parsed them; otherwise the `Cookie` headers are read. */
  readonly cookies?: Readonly<Record<string, string>>;
  /** The parsed JSON body, when the request had one that parsed. */
  readonly body?: unknown;
  /**
   * The body's text when it did not parse as JSON (the handler answers 400 `invalid_body`,
   * and that answer is stored for replay): the fingerprint then hashes these bytes.
   */
  readonly rawBody?: string;
}


import { readFileSync } from "node:fs";

/** A static file of the console, with every header it is served with. */
export interface ConsoleAsset {
  /** Exact path: `/console`, `/console/app.js`, ... */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * The console's policy: its own script and style only, API calls to this origin only, no inline
 * code, no framing, no form posts; Trusted Types, since the page never writes HTML from strings.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join("; ");

const FILES = [
  ["/console", "console.html", "text/html; charset=utf-8"],
  ["/console/app.js", "console.js", "text/javascript; charset=utf-8"],
  ["/console/app.css", "console.css", "text/css; charset=utf-8"],
  ["/console/icon.svg", "icon.svg", "image/svg+xml"],
] as const;

let assets: readonly ConsoleAsset[] | undefined;

/**
 * The Developer Console's files (read from this folder once per process), served as they are:
 * no build step. `no-store` so that a page that once showed a raw key is never kept.
 */
export function consoleAssets(): readonly ConsoleAsset[] {
  assets ??= FILES.map(([path, file, type]) => ({
    path,
    body: readFileSync(new URL(file, import.meta.url)),
    headers: {
      "content-type": type,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-security-policy": CONSOLE_CSP,
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
    },
  }));
  return assets;
}

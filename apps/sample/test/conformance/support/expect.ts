import { catalogue, type ProblemCode } from "@alloovium/core";
import { expect } from "vitest";
import { sfMember, type WireResponse } from "./http";

export const PROBLEM_TYPE_BASE = "https://api.alloovium.com/errors/";
/** RFC 6750 3.1: no `error` attribute when no credential was sent. */
export const BARE_CHALLENGE = 'Bearer realm="alloovium"';
export const INVALID_REQUEST_CHALLENGE = 'Bearer realm="alloovium", error="invalid_request"';
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="alloovium", error="invalid_token"';

/** Serializes the response for an assertion message, so a failure shows what came back. */
export function show(res: WireResponse): string {
  return `${res.status} ${JSON.stringify(res.headers)} ${res.text.slice(0, 600)}`;
}

/**
 * Asserts a problem+json answer: status, media type, and the standard members exactly as the
 * catalogue defines them (type, title, status, code), a non-empty detail, and `extensions`
 * (a subset match, unless `exact` is set: then the body must have those members and no others).
 */
export function expectProblem(
  res: WireResponse,
  code: ProblemCode,
  extensions: Record<string, unknown> = {},
  exact = false,
): void {
  const { status, title } = catalogue[code];
  expect(res.status, show(res)).toBe(status);
  expect(res.mediaType, show(res)).toBe("application/problem+json");
  const standard = { type: PROBLEM_TYPE_BASE + code, title, status, code };
  if (exact) {
    expect(res.body, show(res)).toStrictEqual({ ...standard, detail: expect.any(String), ...extensions });
  } else {
    expect(res.body, show(res)).toMatchObject({ ...standard, ...extensions });
  }
  expect(typeof res.body.detail, show(res)).toBe("string");
  expect((res.body.detail as string).length, show(res)).toBeGreaterThan(0);
}

/** The `"tokens"` member of the RateLimit headers, parsed; asserts their structured-field form. */
export function tokenHeaders(res: WireResponse): { q: number; w: number; r: number; t: number } {
  const policy = sfMember(res.headers["ratelimit-policy"], "tokens");
  const limit = sfMember(res.headers["ratelimit"], "tokens");
  expect(policy, `RateLimit-Policy ${show(res)}`).toBeDefined();
  expect(limit, `RateLimit ${show(res)}`).toBeDefined();
  expect(Object.keys(policy!).sort(), show(res)).toEqual(["q", "w"]);
  expect(Object.keys(limit!).sort(), show(res)).toEqual(["r", "t"]);
  for (const v of [policy!.q, policy!.w, limit!.r, limit!.t]) expect(v, show(res)).toMatch(/^\d+$/);
  return { q: Number(policy!.q), w: Number(policy!.w), r: Number(limit!.r), t: Number(limit!.t) };
}

/** Asserts that no RateLimit header is present (an unauthenticated answer). */
export function expectNoRateLimitHeaders(res: WireResponse): void {
  expect(res.headers["ratelimit-policy"], show(res)).toBeUndefined();
  expect(res.headers["ratelimit"], show(res)).toBeUndefined();
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO 8601 with an explicit offset, e.g. 2026-04-02T10:12:34+00:00 (Z and fractions allowed). */
export const ISO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

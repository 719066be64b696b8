import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBearer } from "../credentials/transport";
import { fetchHeaderList } from "./headers";
import { incomingFromFetch } from "./gate";

const B64TOKEN = fc.stringMatching(/^[A-Za-z0-9\-._~+/]+=*$/);
const SCHEME = fc.constantFrom("Bearer", "bearer", "Basic", "Token", "Digest");
const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
// A header value as a client may send it: visible ASCII, spaces and tabs, with the pieces
// credentials are made of (schemes, `=`, quotes, commas) common.
const HEADER_VALUE = fc
  .array(fc.oneof(fc.constantFrom("Bearer", "Basic", "Digest", " ", "\t", ",", ", ", "=", '"', "\\", "a", "ak_test_"), fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 6 }), fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 4 })), { maxLength: 8 })
  .map((parts) => parts.join(""));
// RFC 9110 auth-param, written out here on its own: a second header that is one (or a list of
// them, with no quote to pair with one left open in the first) may read as the first one's
// parameters, as it would in a single header: the one case the joined value cannot tell apart.
const AUTH_PARAM = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[^"\\]|\\.)*")$/;
const SECOND_HEADER = HEADER_VALUE.filter((v) => !v.includes('"') && !AUTH_PARAM.test((v.split(",")[0] ?? "").replace(/^[ \t]+|[ \t]+$/g, "")));

/** What the policy answers for these Authorization headers as Node sees them (the parser trims each). */
function viaNode(values: readonly string[]): string {
  const headers = values.flatMap((v) => ["authorization", v.replace(/^[ \t]+|[ \t]+$/g, "")]);
  const read = readBearer({ method: "GET", path: "/", headers });
  return "code" in read ? read.code : "ok";
}

/** What the policy answers for them on the Fetch path, where the headers arrive joined. */
function viaFetch(values: readonly string[]): string {
  const h = new Headers();
  for (const v of values) h.append("Authorization", v);
  const read = readBearer({ method: "GET", path: "/", headers: incomingFromFetch(new Request("http://localhost/", { headers: h })).headers });
  return "code" in read ? read.code : "ok";
}

describe("fetchHeaderList", () => {
  it("splits two Authorization headers that Fetch joined with \", \" back into two", () => {
    fc.assert(
      fc.property(SCHEME, B64TOKEN, SCHEME, B64TOKEN, (s1, t1, s2, t2) => {
        const merged = new Headers();
        merged.append("Authorization", `${s1} ${t1}`);
        merged.append("Authorization", `${s2} ${t2}`);
        expect(fetchHeaderList(merged)).toEqual(["authorization", `${s1} ${t1}`, "authorization", `${s2} ${t2}`]);
      }),
    );
  });

  it("keeps one credential with auth-params whole, quoted commas included", () => {
    for (const value of ['Digest username="alex", realm="x", nonce="n"', 'Digest realm="a, b c"', 'Digest realm="a, \\"b, c"', "Bearer abc", "Digest a=b,c=d"]) {
      expect(fetchHeaderList(new Headers({ authorization: value }))).toEqual(["authorization", value]);
    }
  });

  it("answers as Node for single values Node reads as one credential of another scheme", () => {
    for (const value of ['Digest realm="a, b c"', 'Digest username="alex", realm="x"']) {
      expect(viaFetch([value])).toBe("unsupported_auth_scheme");
      expect(viaNode([value])).toBe("unsupported_auth_scheme");
    }
  });

  it("reads a join whose second header is empty, a bare token, tab-separated or another scheme as two headers", () => {
    for (const [v1, v2] of [
      ["Bearer a", ""],
      ["", "Bearer a"],
      ["Bearer a", "b"],
      ["Bearer a", "Bearer\tx"],
      ["Basic x", "Bearer y"],
      ['Digest a="x', "Bearer y"],
      ["Digest a=b", "Bearer y"],
      ["Bearer a=b", "c=d"],
    ] as const) {
      expect(viaNode([v1, v2])).toBe("duplicate_credentials");
      expect(viaFetch([v1, v2]), `${v1} | ${v2}`).toBe("duplicate_credentials");
    }
  });

  it("property: two headers Node keeps apart answer duplicate_credentials on the Fetch path too", () => {
    fc.assert(
      fc.property(HEADER_VALUE, SECOND_HEADER, (v1, v2) => {
        expect(viaNode([v1, v2])).toBe("duplicate_credentials");
        expect(viaFetch([v1, v2])).toBe("duplicate_credentials");
      }),
      { numRuns: 2000 },
    );
  });

  it("property: any two headers are refused on the Fetch path (never a credential)", () => {
    fc.assert(
      fc.property(HEADER_VALUE, HEADER_VALUE, (v1, v2) => {
        expect(viaFetch([v1, v2])).toMatch(/^(duplicate_credentials|unsupported_auth_scheme|malformed_authorization)$/);
      }),
      { numRuns: 2000 },
    );
  });

  it("property: one header answers as on Node, or duplicate_credentials where Node refuses it too", () => {
    fc.assert(
      fc.property(fc.oneof(HEADER_VALUE, B64TOKEN.map((t) => `Bearer ${t}`)), (v) => {
        const node = viaNode([v]);
        const fetch = viaFetch([v]);
        if (fetch !== node) {
          expect(fetch).toBe("duplicate_credentials");
          expect(node).not.toBe("ok");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves other merged headers as Fetch gives them", () => {
    const h = new Headers();
    h.append("X-Note", "Bearer a");
    h.append("X-Note", "Bearer b");
    expect(fetchHeaderList(h)).toEqual(["x-note", "Bearer a, Bearer b"]);
  });

  it("makes two merged Authorization headers duplicate_credentials, as on Node", () => {
    const h = new Headers();
    h.append("Authorization", "Bearer one");
    h.append("Authorization", "Bearer two");
    const incoming = incomingFromFetch(new Request("http://localhost/api/v2/me", { headers: h }));
    const read = readBearer({ method: "GET", path: "/api/v2/me", headers: incoming.headers });
    expect(read).toMatchObject({ code: "duplicate_credentials" });
  });
});

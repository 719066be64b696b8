import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { isPolicyError } from "../problems";
import { FakeClock } from "../testing";
import { createOAuthVerifier } from "./oauth";

const ISSUER = "https://auth.alloovium.test";
const AUDIENCE = "https://api.alloovium.com";
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
let privateKey: PrivateKey;
let publicJwk: JWK;
let otherPrivate: PrivateKey;
const clock = new FakeClock(Date.parse("2026-06-01T12:00:00Z"));
const nowSec = () => Math.floor(clock.now() / 1000);

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  otherPrivate = (await generateKeyPair("RS256")).privateKey;
});

function token(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: PrivateKey = privateKey) {
  const payload: Record<string, unknown> = {
    iss: ISSUER, aud: AUDIENCE, sub: "user-1", iat: nowSec(), exp: nowSec() + 300,
    tenant_id: "t1", client_id: "client_9a8b7c6d", scope: "vault:read chat:read", ...claims,
  };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "k1", ...header }).sign(key);
}

const verifier = () => createOAuthVerifier({ jwks: { keys: [publicJwk] }, issuer: ISSUER, clock });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("createOAuthVerifier", () => {
  it.each([
    ["a tenant_id with a lone surrogate", { tenant_id: "t\ud800" }],
    ["a sub with a lone surrogate", { sub: "\udc00" }],
    ["a client_id with a control character", { client_id: "c\u0000" }],
    ["an empty tenant_id", { tenant_id: "" }],
    ["a sub of 256 characters", { sub: "u".repeat(256) }],
    ["a tenant_id that is a number", { tenant_id: 7 }],
    ["a scope with a lone surrogate", { scope: "vault:read \ud800" }],
  ])("answers invalid_token to a signed token with %s (ids name store keys: two must never share one)", async (_name, claims) => {
    const r = await verifier().verify(await token(claims));
    expect(isPolicyError(r) && r.code).toBe("invalid_token");
  });

  it("accepts ids of 255 characters and any well-formed Unicode", async () => {
    const r = await verifier().verify(await token({ sub: "u".repeat(255), tenant_id: "t\u00e9\ud83d\ude00" }));
    expect(isPolicyError(r)).toBe(false);
  });

  it("maps a valid RFC 9068 token onto the OAuth principal, scopes sorted", async () => {
    expect(await verifier().verify(await token())).toEqual({
      user_id: "user-1",
      tenant_id: "t1",
      auth_method: "oauth",
      client_id: "client_9a8b7c6d",
      scopes: ["chat:read", "vault:read"],
    });
  });

  it("answers token_expired past exp plus the tolerance, and accepts within it", async () => {
    const t = await token({ exp: nowSec() - 3 });
    expect(isPolicyError(await verifier().verify(t))).toBe(false);
    const late = await token({ exp: nowSec() - 60 });
    const r = await verifier().verify(late);
    expect(isPolicyError(r) && r.code).toBe("token_expired");
    expect(isPolicyError(r) && r.headers?.["www-authenticate"]).toBe('Bearer realm="alloovium", error="invalid_token"');
  });

  it.each([
    ["a wrong audience", { aud: "https://other.example" }, {}],
    ["a wrong issuer", { iss: "https://evil.example" }, {}],
    ["a future nbf", { nbf: nowSec() + 600 }, {}],
    ["no tenant_id", { tenant_id: undefined }, {}],
    ["no client_id", { client_id: undefined }, {}],
    ["a non-string scope", { scope: ["vault:read"] }, {}],
    ["typ JWT instead of at+jwt", {}, { typ: "JWT" }],
  ])("answers invalid_token to %s", async (_name, claims, header) => {
    const r = await verifier().verify(await token(claims, header));
    expect(isPolicyError(r) && r.code).toBe("invalid_token");
  });

  it("answers invalid_token to a token signed by an unknown key", async () => {
    const r = await verifier().verify(await token({}, {}, otherPrivate));
    expect(isPolicyError(r) && r.code).toBe("invalid_token");
  });

  it("refuses alg none", async () => {
    const unsigned = `${b64({ alg: "none", typ: "at+jwt" })}.${b64({ sub: "u", tenant_id: "t", client_id: "c", iss: ISSUER, aud: AUDIENCE, exp: nowSec() + 60 })}.`;
    const r = await verifier().verify(unsigned);
    expect(isPolicyError(r) && r.code).toBe("invalid_token");
  });

  it("refuses HS256 signed with the RSA public key as the secret", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT({ tenant_id: "t1", client_id: "c" })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: "k1" })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject("u").setExpirationTime(nowSec() + 60)
      .sign(secret);
    const r = await verifier().verify(forged);
    expect(isPolicyError(r) && r.code).toBe("invalid_token");
  });

  it("reads the JWKS from a file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jwks-"));
    const file = join(dir, "jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [publicJwk] }));
    const v = createOAuthVerifier({ jwks: { file }, issuer: ISSUER, clock });
    expect(isPolicyError(await v.verify(await token()))).toBe(false);
  });

  it("fetches the JWKS from a URL once and caches it", async () => {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
      const v = createOAuthVerifier({ jwks: url, issuer: ISSUER, clock });
      expect(isPolicyError(await v.verify(await token()))).toBe(false);
      expect(isPolicyError(await v.verify(await token()))).toBe(false);
      expect(fetches).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("answers 503 service_unavailable with Retry-After, not 401, while the JWKS URL is unreachable or failing, and recovers", async () => {
    let healthy = false;
    const server = createServer((_req, res) => {
      if (!healthy) res.writeHead(502).end("bad gateway");
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const failing = createOAuthVerifier({ jwks: new URL(`http://127.0.0.1:${port}/jwks.json`), issuer: ISSUER, clock });
      expect(await failing.verify(await token())).toMatchObject({ code: "service_unavailable", headers: { "retry-after": "1" } });
      healthy = true;
      expect(isPolicyError(await failing.verify(await token()))).toBe(false);
      // A set that has no key for the token is still the token's fault.
      expect(await failing.verify(await token({}, {}, otherPrivate))).toMatchObject({ code: "invalid_token" });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    // Nothing listens on the port any more: connection refused.
    const unreachable = createOAuthVerifier({ jwks: new URL(`http://127.0.0.1:${port}/jwks.json`), issuer: ISSUER, clock });
    expect(await unreachable.verify(await token())).toMatchObject({ code: "service_unavailable", headers: { "retry-after": "1" } });
  });

  it("validates its options, naming them", () => {
    expect(() => createOAuthVerifier({ jwks: { keys: [publicJwk] }, issuer: "" })).toThrow(/`issuer`/);
    expect(() => createOAuthVerifier({ jwks: { keys: [publicJwk] }, issuer: ISSUER, algorithms: ["none"] })).toThrow(/`algorithms`/);
    expect(() => createOAuthVerifier({ jwks: { keys: [publicJwk] }, issuer: ISSUER, algorithms: ["HS256"] })).toThrow(/asymmetric/);
    expect(() => createOAuthVerifier({ jwks: { keys: [{ kty: "oct", k: "abc" }] }, issuer: ISSUER })).toThrow(/oct/);
    expect(() => createOAuthVerifier({ jwks: { file: "/nonexistent/jwks.json" }, issuer: ISSUER })).toThrow(/`jwks.file`/);
  });
});

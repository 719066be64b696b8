import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from "jose";

export const ISSUER = "https://auth.conformance.example";
export const AUDIENCE = "https://api.alloovium.com";
const KID = "conformance-rs256";

/** An RS256 authorization server of our own: its public JWKS goes into the app's `oauth` option. */
export interface Issuer {
  readonly jwks: { keys: object[] };
  readonly issuer: string;
  /** A signed RFC 9068 access token; `claims` override the defaults, `header` the protected header. */
  mint(claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /** The same claims signed HS256 with the RSA public key (PEM) as the HMAC secret: the classic confusion attack. */
  mintHs256WithPublicKey(claims?: JWTPayload): Promise<string>;
  /** An unsigned token: `alg: none`, empty signature. */
  mintNone(claims?: JWTPayload): string;
}

export interface OAuthSubject {
  readonly sub: string;
  readonly tenant_id: string;
  readonly client_id: string;
  readonly scope: string;
}

function defaults(subject: OAuthSubject, claims: JWTPayload | undefined): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, jti: `jti-${now}-${Math.random()}`, ...subject, ...claims };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8").toString("base64url");

export async function createIssuer(subject: OAuthSubject): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: "RS256", use: "sig" };
  const pem = await exportSPKI(publicKey);
  return {
    jwks: { keys: [jwk] },
    issuer: ISSUER,
    async mint(claims, header) {
      const h = { alg: "RS256", typ: "at+jwt", kid: KID, ...header };
      // A header override may drop `typ` by setting it to undefined.
      for (const k of Object.keys(h)) if ((h as Record<string, unknown>)[k] === undefined) delete (h as Record<string, unknown>)[k];
      return new SignJWT(defaults(subject, claims)).setProtectedHeader(h as { alg: string }).sign(privateKey);
    },
    async mintHs256WithPublicKey(claims) {
      return new SignJWT(defaults(subject, claims))
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: KID })
        .sign(new TextEncoder().encode(pem));
    },
    mintNone(claims) {
      return `${b64({ alg: "none", typ: "at+jwt" })}.${b64(defaults(subject, claims))}.`;
    },
  };
}

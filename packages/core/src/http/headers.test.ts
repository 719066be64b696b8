import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBearer } from "../credentials/transport";
import { fetchHeaderList } from "./headers";
import { incomingFromFetch } from "./gate";

const B64TOKEN = fc.stringMatching(/^[A-Za-z0-9\-._~+/]+=*$/);
const SCHEME = fc.constantFrom("Bearer", "bearer", "Basic", "Token", "Digest");

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

  it("keeps one Authorization value whole when no second scheme follows a comma", () => {
    for (const value of ['Digest username="alex", realm="x", nonce="n"', "Bearer a, b", "Bearer a,Bearer b", "Bearer abc"]) {
      expect(fetchHeaderList(new Headers({ authorization: value }))).toEqual(["authorization", value]);
    }
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

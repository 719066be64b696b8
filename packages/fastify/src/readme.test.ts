import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { mintApiKey } from "@alloovium/core/testing";
import { describe, expect, it } from "vitest";
import { app, keyHasher, keyStore } from "./readme-example";

describe("README", () => {
  it("quotes src/readme-example.ts verbatim", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = readFileSync(new URL("./readme-example.ts", import.meta.url), "utf8");
    expect(readme).toContain(example.trim());
  });

  it("the example answers GET /api/v2/me with the principal, 401 without a key and 404 elsewhere", async () => {
    const { key, record } = await mintApiKey(keyStore, keyHasher, { environment: "live", scopes: ["vault:read"] });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const ok = await fetch(`${base}/api/v2/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ auth_method: "api_key", api_key_id: record.id, scopes: ["vault:read"] });
      const anonymous = await fetch(`${base}/api/v2/me`);
      expect(anonymous.status).toBe(401);
      expect((await anonymous.json()) as unknown).toMatchObject({ code: "missing_credentials" });
      const unknown = await fetch(`${base}/elsewhere`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toBe("application/problem+json");
    } finally {
      await app.close();
    }
  });
});

/**
 * `pnpm start` as a user runs it: the run contract's environment variables, read by src/main.ts
 * in a process of its own. A bad value exits 2 naming the variable; good ones reach the wire.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { RedisServer } from "../../../packages/redis/test/redis-server";
import { dropSchema } from "./conformance/support/app";

const app = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];

function start(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: app,
    env: { ...process.env, DATABASE_URL: "", HOST: "127.0.0.1", PORT: "0", ALLOOVIUM_KEY_PEPPER: "main-test-pepper-0123456789", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return child;
}

/**
 * The demo key and the address, once the app says it listens. Its output keeps being read after
 * that: a pipe closed under the app would make its next log line fail (EPIPE) and end it.
 */
function ready(child: ChildProcess): Promise<{ url: string; key: string }> {
  let out = "";
  child.stdout!.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const key = /demo key[^:]*: (ak_test_\w+)/.exec(out)?.[1];
      if (url && key) resolve({ url, key });
    });
    child.once("exit", () => reject(new Error(`the app exited before listening: ${out}`)));
  });
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }
});

describe("pnpm start (src/main.ts)", () => {
  it("applies ALLOOVIUM_TENANT_BUCKET and ALLOOVIUM_MAX_ACTIVE_KEYS", async () => {
    const { url, key } = await ready(start({ ALLOOVIUM_TENANT_BUCKET: "20:1", ALLOOVIUM_MAX_ACTIVE_KEYS: "2" }));
    const auth = { authorization: `Bearer ${key}` };
    const me = await fetch(`${url}/api/v2/me`, { headers: auth });
    expect(me.status).toBe(200);
    expect(me.headers.get("ratelimit-policy")).toContain('"tenant";q=20;w=20');
    expect(me.headers.get("ratelimit")).toMatch(/"tenant";r=19;t=1/);
    // The demo key is one active key of the tenant: one more fits under a cap of 2, the next does not.
    const create = () =>
      fetch(`${url}/api/v2/keys`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: "k", environment: "test", scopes: [] }) });
    expect((await create()).status).toBe(201);
    const refused = await create();
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: "key_limit_reached", limit: 2 });
  });

  it.each([
    ["ALLOOVIUM_TENANT_BUCKET", "20"],
    ["ALLOOVIUM_TENANT_BUCKET", "0:1"],
    ["ALLOOVIUM_MAX_ACTIVE_KEYS", "0"],
    ["ALLOOVIUM_MAX_ACTIVE_KEYS", "ten"],
    ["ALLOOVIUM_FRAMEWORK", "rails"],
    ["ALLOOVIUM_TENANT_BUCKET", "gold=10:1"],
    ["ALLOOVIUM_TENANT_BUCKET", "pro=10"],
    ["ALLOOVIUM_REDIS_KEY_PREFIX", "with space"],
    ["ALLOOVIUM_RUNTIME", "java"],
    ["DATABASE_URL", "mysql://localhost/x"],
    ["ALLOOVIUM_METRICS_PORT", "65536"],
    ["ALLOOVIUM_METRICS_PORT", "nine"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"],
  ])("exits 2 naming %s for %j", async (name, value) => {
    const child = start({ [name]: value });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err).toContain(name);
  });

  it("keeps keys and balances in PostgreSQL with DATABASE_URL alone: a restarted app still knows them", async () => {
    const schema = `main_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    try {
      await keepsAcrossRestart({ DATABASE_URL: inject("databaseUrl"), ALLOOVIUM_DATABASE_SCHEMA: schema, REDIS_URL: "" });
    } finally {
      await dropSchema(inject("databaseUrl"), schema);
    }
  });

  it("says exactly what is wrong with a bad metrics port", async () => {
    const child = start({ ALLOOVIUM_METRICS_PORT: "-1" });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(err.trim()).toBe('error: ALLOOVIUM_METRICS_PORT must be an integer from 0 to 65535; got "-1"');
  });

  it("serves the policy's metrics for Prometheus on ALLOOVIUM_METRICS_PORT", async () => {
    const child = start({ ALLOOVIUM_METRICS_PORT: "0" });
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
    const { url, key } = await ready(child);
    const metricsUrl = await new Promise<string>((resolve) => {
      const look = () => {
        const found = /metrics for Prometheus: (http:\/\/\S+)/.exec(out)?.[1];
        if (found) resolve(found);
        else setTimeout(look, 20);
      };
      look();
    });
    expect((await fetch(`${url}/api/v2/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20)); // counted after the answer
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^alloovium_policy_decisions_total\{outcome="admitted",capability="meta\.whoami",tier="standard"[^}]*\} 1$/m);
  });

  it("runs Redis in front of PostgreSQL with DATABASE_URL and REDIS_URL: after a stop, Redis restarted empty and a start, keys and balances are still there", async () => {
    const schema = `main_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const redis = await RedisServer.start();
    try {
      await keepsAcrossRestart({ DATABASE_URL: inject("databaseUrl"), ALLOOVIUM_DATABASE_SCHEMA: schema, REDIS_URL: redis.url }, async () => {
        await redis.stop();
        await redis.restart(); // empty
      });
    } finally {
      await redis.destroy();
      await dropSchema(inject("databaseUrl"), schema);
    }
  });

  /**
   * Creates a key through the API and makes one 1-credit call, stops the app (SIGTERM: with a
   * ledger, its last flush), runs `between`, starts it again on the same environment: the key
   * still works, and the balance and usage still show the call.
   */
  async function keepsAcrossRestart(env: Record<string, string>, between?: () => Promise<void>): Promise<void> {
    try {
      const first = start(env);
      const { url, key } = await ready(first);
      const auth = { authorization: `Bearer ${key}` };
      const created = await fetch(`${url}/api/v2/keys`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: "kept", environment: "test", scopes: ["vault:read"] }) });
      expect(created.status).toBe(201);
      const made = (await created.json()) as { key: string };
      expect((await fetch(`${url}/api/v2/vault/projects`, { headers: { authorization: `Bearer ${made.key}` } })).status).toBe(200); // 1 credit
      first.kill("SIGTERM");
      await once(first, "exit");
      await between?.();
      const second = await ready(start(env));
      const again = await fetch(`${second.url}/api/v2/usage`, { headers: { authorization: `Bearer ${key}` } });
      expect(again.status).toBe(200);
      const usage = (await again.json()) as { balance: number; data: { capability: string; calls: number }[] };
      expect(usage.balance).toBe(100_000 - 1);
      expect(usage.data).toContainEqual(expect.objectContaining({ capability: "vault.projects.list", calls: 1 }));
      expect((await fetch(`${second.url}/api/v2/me`, { headers: { authorization: `Bearer ${made.key}` } })).status).toBe(200);
    } finally {
      for (const child of children.splice(0)) if (child.exitCode === null) (child.kill("SIGTERM"), await once(child, "exit"));
    }
  }
});

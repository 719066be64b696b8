/**
 * Four instances of the sample app (`pnpm start`, each a process of its own) on one PostgreSQL
 * database and nothing else (DATABASE_URL alone): they migrate one schema together at start, and
 * 50 concurrent identical POSTs with one Idempotency-Key, spread over the four, run the handler
 * once (each instance keeps its projects in its own memory, so a second run would show as a
 * second project somewhere), and the tenant is charged once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { dropSchema } from "./conformance/support/app";

const app = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];
const schema = `inst_${randomUUID().replaceAll("-", "").slice(0, 12)}`;

function start(): Promise<{ url: string; key: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: app,
    env: { ...process.env, REDIS_URL: "", DATABASE_URL: inject("databaseUrl"), ALLOOVIUM_DATABASE_SCHEMA: schema, HOST: "127.0.0.1", PORT: "0", ALLOOVIUM_KEY_PEPPER: "instances-test-pepper-0123456789" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const key = /demo key[^:]*: (ak_test_\w+)/.exec(out)?.[1];
      if (url && key) resolve({ url, key });
    });
    child.once("exit", (code) => reject(new Error(`an instance exited (${code}) before listening: ${out}${err}`)));
  });
}

afterAll(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }
  await dropSchema(inject("databaseUrl"), schema);
});

describe("four sample-app instances on PostgreSQL alone", () => {
  it("start together on one new schema, and 50 concurrent identical POSTs over them run the handler once and charge once", async () => {
    const instances = await Promise.all([start(), start(), start(), start()]);
    const key = instances[0]!.key; // one instance's demo key works on every instance: one key store
    const auth = { authorization: `Bearer ${key}` };
    const usage = async () => (await (await fetch(`${instances[1]!.url}/api/v2/usage`, { headers: auth })).json()) as { balance: number };
    const before = (await usage()).balance;
    const body = JSON.stringify({ name: "Downtown Tower", project_type: "commercial" });
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await fetch(`${instances[i % 4]!.url}/api/v2/vault/projects`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json", "idempotency-key": "order-1" },
          body,
        });
        return { status: res.status, replayed: res.headers.get("idempotent-replayed"), body: (await res.json()) as { id?: string; code?: string } };
      }),
    );
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    // Every 201 is the one response: the handler's, or its replay.
    expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
    expect(created.filter((a) => a.replayed !== "true")).toHaveLength(1);
    // The rest were refused while it ran: 409 idempotency_key_in_use.
    for (const a of answers.filter((x) => x.status !== 201)) expect([a.status, a.body.code]).toEqual([409, "idempotency_key_in_use"]);
    // One project in all four instances together: the handler ran once.
    const lists = await Promise.all(instances.map(async (s) => ((await (await fetch(`${s.url}/api/v2/vault/projects`, { headers: auth })).json()) as { data: unknown[] }).data.length));
    expect(lists.reduce((a, b) => a + b, 0)).toBe(1);
    // Charged once for the create (2 credits) and once for each list (1 credit each, 4 lists).
    expect((await usage()).balance).toBe(before - 2 - 4);
  });
});

/**
 * Test helpers that start and stop real `redis-server` processes (standalone and Cluster),
 * wait for them, and delete a run's keys. Nothing here sleeps for a fixed time: every wait
 * polls against a deadline.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";

/**
 * Waits at least `ms` of real time. A timer alone may fire early: it is set from the event loop's
 * cached time, which lags the real time by whatever the current turn did (more on a loaded
 * machine), and a real-clock harness's `advance` must not be shorter than asked.
 */
export async function sleep(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await new Promise<void>((r) => setTimeout(r, Math.ceil(left)));
}

/** Polls `check` until it returns a value other than undefined/false, or throws at the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 25): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(everyMs);
  }
}

/** A free TCP port on 127.0.0.1 (and, for Cluster, its bus port +10000 too). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    if (port > 0 && port + 10000 < 65536) return port;
  }
}

export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/** Answers PING within `ms`? */
export async function pings(url: string, ms = 1500): Promise<boolean> {
  const c = new Redis(url, { lazyConnect: true, connectTimeout: ms, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  c.on("error", () => {});
  try {
    await c.connect();
    return (await c.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

/** A redis-server child process on a port of its own, nothing on disk. */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #proc: ChildProcess | null = null;
  readonly #extra: string[];

  private constructor(port: number, dir: string, extra: string[]) {
    this.port = port;
    this.dir = dir;
    this.#extra = extra;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(extra: string[] = [], port?: number): Promise<RedisServer> {
    const s = new RedisServer(port ?? (await freePort()), mkdtempSync(join(tmpdir(), "alloovium-redis-")), extra);
    await s.restart();
    return s;
  }

  /** Starts (again) on the same port. */
  async restart(): Promise<void> {
    if (this.#proc) throw new Error("already running");
    const proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir, "--enable-debug-command", "yes", ...this.#extra],
      { stdio: "ignore" },
    );
    this.#proc = proc;
    proc.once("exit", () => {
      if (this.#proc === proc) this.#proc = null;
    });
    await waitFor(`redis-server on ${this.port}`, () => pings(this.url, 500));
  }

  /** Stops the process (SIGKILL: no chance to save or say goodbye) and waits for its exit. */
  async stop(): Promise<void> {
    const p = this.#proc;
    if (!p) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
    this.#proc = null;
  }

  get running(): boolean {
    return this.#proc !== null;
  }

  /** Stops and removes the data directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 3-master Redis Cluster on local ports. */
export class LocalCluster {
  readonly servers: RedisServer[];

  private constructor(servers: RedisServer[]) {
    this.servers = servers;
  }

  get nodes(): { host: string; port: number }[] {
    return this.servers.map((s) => ({ host: "127.0.0.1", port: s.port }));
  }

  static async start(): Promise<LocalCluster> {
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        servers.push(await RedisServer.start(["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`], port));
      }
      const create = spawnSync(
        "redis-cli",
        ["--cluster", "create", ...servers.map((s) => `127.0.0.1:${s.port}`), "--cluster-replicas", "0", "--cluster-yes"],
        { encoding: "utf8", timeout: 60_000 },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
      for (const s of servers) {
        await waitFor(`cluster_state:ok on ${s.port}`, async () => {
          const c = new Redis(s.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
          c.on("error", () => {});
          try {
            const info = (await c.cluster("INFO")) as string;
            return info.includes("cluster_state:ok");
          } finally {
            c.disconnect();
          }
        }, 60_000, 100);
      }
      return new LocalCluster(servers);
    } catch (e) {
      for (const s of servers) await s.destroy();
      throw e;
    }
  }

  client(): Cluster {
    const c = new Cluster(this.nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    c.on("error", () => {});
    return c;
  }

  async stop(): Promise<void> {
    for (const s of this.servers) await s.destroy();
  }
}

/** Deletes every key that starts with `prefix` (SCAN + UNLINK, on every master of a Cluster). */
export async function deleteKeys(client: Redis | Cluster, prefix: string): Promise<number> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes("master") : [client];
  let n = 0;
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      // One key per UNLINK on a Cluster (keys of one node may still be in different slots).
      if (client instanceof Cluster) for (const k of keys) n += await node.unlink(k);
      else if (keys.length > 0) n += await node.unlink(...keys);
    } while (cursor !== "0");
  }
  return n;
}

/** Counts keys that start with `prefix`. */
export async function countKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== "0");
  return n;
}

import { fork, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LedgerJob } from "./fixtures/ledger-worker";
import type { Job } from "./fixtures/worker";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * A child process running a TypeScript fixture (through tsx) with request/response over IPC: it
 * posts `{ ready: true }` once set up, answers each `{ seq, job }` with `{ seq, result }` or
 * `{ seq, error }`, and exits on the job `{ type: "exit" }`. The PostgreSQL package's workers use it too.
 */
export class IpcWorker<J> {
  readonly #proc: ChildProcess;
  #seq = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;

  /** `script` is `<package>/test/fixtures/<name>.ts`, run from `<package>` with `env` added. */
  constructor(script: string, env: Readonly<Record<string, string>>) {
    this.#proc = fork(script, [], {
      execArgv: ["--import", "tsx"],
      cwd: join(dirname(script), "..", ".."),
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.ready = new Promise((resolve, reject) => {
      this.#proc.once("exit", (code) => {
        const e = new Error(`worker exited with ${code}`);
        reject(e);
        for (const p of this.#pending.values()) p.reject(e);
      });
      this.#proc.on("message", (m: { ready?: boolean; seq?: number; result?: unknown; error?: string }) => {
        if (m.ready) return resolve();
        const p = this.#pending.get(m.seq ?? -1);
        if (!p) return;
        this.#pending.delete(m.seq ?? -1);
        if (m.error) p.reject(new Error(m.error));
        else p.resolve(m.result);
      });
    });
  }

  run<T>(job: J): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.#proc.send({ seq, job });
    });
  }

  /** Asks the child to exit, and kills it if it does not within 5 s. */
  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#proc.once("exit", () => r()));
    this.#proc.send({ seq: 0, job: { type: "exit" } });
    const timer = setTimeout(() => this.#proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A child process running test/fixtures/worker.ts (Redis stores on `keyPrefix`), or another fixture of this folder. */
export class Worker extends IpcWorker<Job | LedgerJob> {
  constructor(url: string, keyPrefix: string, fixture = "worker.ts", env: Readonly<Record<string, string>> = {}) {
    super(join(here, "fixtures", fixture), { WORKER_REDIS_URL: url, WORKER_KEY_PREFIX: keyPrefix, ...env });
  }
}

/** A child process running test/fixtures/ledger-worker.ts: Redis stores in front of a `PostgresLedger` on `schema`. */
export class LedgerWorker extends Worker {
  constructor(redisUrl: string, keyPrefix: string, databaseUrl: string, schema: string) {
    super(redisUrl, keyPrefix, "ledger-worker.ts", { WORKER_DATABASE_URL: databaseUrl, WORKER_SCHEMA: schema });
  }
}

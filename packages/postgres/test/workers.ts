import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { IpcWorker } from "../../redis/test/workers";
import type { Job } from "./fixtures/worker";

const here = dirname(fileURLToPath(import.meta.url));

/** A child process running test/fixtures/worker.ts (through tsx) on its own pool, with request/response over IPC. */
export class Worker extends IpcWorker<Job> {
  constructor(url: string, schema: string) {
    super(join(here, "fixtures", "worker.ts"), { WORKER_DATABASE_URL: url, WORKER_SCHEMA: schema });
  }
}

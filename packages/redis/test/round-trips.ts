import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Counts the commands clients send to a server, from the server's side (MONITOR), leaving out
 * what scripts run inside themselves. Each counted command is one round trip.
 */
export class RoundTripCounter {
  readonly #monitor: Redis;
  readonly #seen: { args: string[]; source: string }[] = [];

  private constructor(monitor: Redis) {
    this.#monitor = monitor;
    monitor.on("monitor", (_time: string, args: string[], source: string) => this.#seen.push({ args, source }));
  }

  /** `client.monitor()` opens a connection of its own; `stop` closes it. */
  static async start(client: Redis): Promise<RoundTripCounter> {
    return new RoundTripCounter(await client.monitor());
  }

  /** The top-level commands `run` sent through `client`, by name (lower case). */
  async count(client: Redis, run: () => Promise<unknown>): Promise<Record<string, number>> {
    const begin = `rt-begin-${randomUUID()}`;
    const end = `rt-end-${randomUUID()}`;
    await client.echo(begin);
    await run();
    await client.echo(end);
    const until = Date.now() + 20_000;
    while (!this.#seen.some((e) => e.args[1] === end)) {
      if (Date.now() > until) throw new Error("MONITOR did not see the end marker");
      await new Promise((r) => setTimeout(r, 5));
    }
    const from = this.#seen.findIndex((e) => e.args[1] === begin);
    const to = this.#seen.findIndex((e) => e.args[1] === end);
    const calls: Record<string, number> = {};
    for (const e of this.#seen.slice(from + 1, to)) {
      if (e.source === "lua" || e.source.includes("lua")) continue;
      const name = String(e.args[0]).toLowerCase();
      calls[name] = (calls[name] ?? 0) + 1;
    }
    this.#seen.length = 0;
    return calls;
  }

  stop(): void {
    this.#monitor.disconnect();
  }
}

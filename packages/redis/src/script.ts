import { createHash } from "node:crypto";

/**
 * How the stores' Lua scripts are written. Each script is one `defineScript` beside the code
 * that calls it (buckets.ts, idempotency.ts, admission.ts, credits.ts, key-store.ts), naming its
 * KEYS and ARGV in order and decoding its reply; the TypeScript types of a call (`Keys`, `Args`,
 * `Reply`) are declared with it. Scripts are strings in TypeScript so that the source tree and
 * the tsup build load them the same way.
 *
 * Lua shared by several scripts is a `LuaFragment`: `local function`s only, each taking what it
 * reads as parameters (the server time included), and nothing else at its top level, so no
 * fragment relies on a variable another one sets. A fragment names the functions it defines and
 * the fragments whose functions it calls; `script.test.ts` checks every fragment and every
 * script body against those declarations (no free name but Lua's and Redis' own globals and the
 * functions declared, no KEYS or ARGV index beyond the declared ones).
 *
 * Every script that needs the time reads it with `TIME` (Redis 7 replicates script effects, so
 * this is safe) and never trusts the caller's clock. Every multi-key script gets keys of one
 * tenant, which share the `{tenant}` hash tag and so one Cluster slot. The one key a script
 * names itself is the usage hash of the current hour: the client cannot know the server's hour,
 * so it passes the tenant's usage key prefix in KEYS and the script appends the hour (same hash
 * tag, same slot, so Cluster routes and allows it).
 *
 * Decision scripts (their ARGV[4] is named "deadline": `deadline`) take a deadline as their fourth argument (ARGV[4], or the
 * fourth double of a `doubles` script; server-clock milliseconds, 0 = none): a script that runs after it writes nothing and answers `late` (-1 first). The client
 * gives up at about the same moment, so a command that was queued behind a paused or hung server
 * cannot take effect after the caller has already fallen back (no token charged twice, no claim
 * nobody holds). Every decision script answers the server time (ms) third: the client learns the
 * clock offset from it.
 */

/** A piece of Lua shared by scripts: `local function` definitions and nothing else. */
export interface LuaFragment {
  readonly name: string;
  /** The functions it defines, in order (every one a top-level `local function`). */
  readonly defines: readonly string[];
  /** The fragments whose functions it calls; they come before it in every script. */
  readonly uses: readonly LuaFragment[];
  readonly lua: string;
}

/** Declares a fragment (see `LuaFragment`). */
export function luaFragment(name: string, d: { readonly defines: readonly string[]; readonly uses?: readonly LuaFragment[]; readonly lua: string }): LuaFragment {
  return { name, defines: d.defines, uses: d.uses ?? [], lua: d.lua };
}

/**
 * One script. `Keys` and `Args` are the tuple types of its KEYS and ARGV (a call cannot pass
 * them in the wrong order or number), `Reply` what `decode` makes of its raw reply.
 */
export interface RedisScript<Keys extends readonly string[], Args extends readonly (string | number)[], Reply> {
  readonly name: string;
  /** The names of KEYS[1], KEYS[2], ...; a last name starting with `...` stands for any number more. */
  readonly keys: readonly string[];
  /** The names of ARGV[1], ARGV[2], ...; a last name starting with `...` stands for any number more. */
  readonly args: readonly string[];
  /** Decision script: ARGV[4] is its deadline, its reply starts with 1 | 0 | -1 late and the server time is third. */
  readonly deadline: boolean;
  /**
   * The arguments (all numbers) travel as one binary ARGV of big-endian doubles, read with
   * `struct.unpack('>d>d...', ARGV[1])`: no decimal formatting in the client and no `tonumber`
   * (strtod) per argument on the server. The names in `args` are those of the doubles.
   */
  readonly doubles: boolean;
  /** The fragments composed before the body, in order (dependencies first). */
  readonly fragments: readonly LuaFragment[];
  /** The script's own code, after the fragments. */
  readonly body: string;
  /** The whole source sent to Redis. */
  readonly lua: string;
  /** SHA-1 of `lua`, for EVALSHA. */
  readonly sha: string;
  readonly decode: (reply: unknown) => Reply;
  /** Types only (never set): the script's KEYS and ARGV tuples. */
  readonly types?: { readonly keys: Keys; readonly args: Args };
}

/** ARGV of a decision script: ARGV[4] is the deadline (the connection sets it). */
export type DecisionArgs = readonly [string | number, string | number, string | number, number, ...(string | number)[]];

/**
 * What a decision script (ARGV[4] named "deadline", not `doubles`) starts with, before its own code: the
 * server's clock read against the deadline in ARGV[4], and the `late` answer. Its body therefore
 * begins with these locals declared (`script.test.ts` knows them): `t` (TIME's strings), `sec`,
 * `usec` and `now` (ms).
 */
export const DECISION_LOCALS = ["t", "sec", "usec", "now"] as const;
const DECISION_PROLOGUE = `local ${DECISION_LOCALS.join(", ")}, late = server_clock(ARGV[4])
if late then return {-1, '', math.floor(now)} end`;

/** The definition `defineScript` takes. */
export interface ScriptDefinition<Reply> {
  readonly name: string;
  readonly keys: readonly string[];
  readonly args: readonly string[];
  /** A decision script (see `RedisScript.deadline`). @default true exactly when ARGV[4] is named "deadline" */
  readonly deadline?: boolean;
  /** @default false (see `RedisScript.doubles`) */
  readonly doubles?: boolean;
  /** Fragments whose functions the body calls (their own `uses` are added before them). */
  readonly uses?: readonly LuaFragment[];
  readonly lua: string;
  readonly decode: (reply: unknown) => Reply;
}

/**
 * Declares a script: KEYS, ARGV and the decoded reply together.
 * @example
 * const DEL_IF = defineScript<[key: string], [value: string], boolean>({
 *   name: "delete-if", keys: ["key"], args: ["value"],
 *   lua: "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end redis.call('DEL', KEYS[1]) return 1",
 *   decode: (r) => r === 1,
 * });
 */
export function defineScript<Keys extends readonly string[], Args extends readonly (string | number)[], Reply>(d: ScriptDefinition<Reply>): RedisScript<Keys, Args, Reply> {
  const fragments: LuaFragment[] = [];
  const add = (f: LuaFragment, path: readonly string[]): void => {
    if (fragments.includes(f)) return;
    if (path.includes(f.name)) throw new Error(`defineScript ${d.name}: fragments use each other in a cycle (${[...path, f.name].join(" -> ")})`);
    for (const u of f.uses) add(u, [...path, f.name]);
    fragments.push(f);
  };
  // A decision script reads the clock first (the prologue): the server clock is always among its fragments.
  const deadline = d.deadline ?? d.args[3] === "deadline";
  const prologue = deadline && d.doubles !== true;
  for (const f of prologue ? [SERVER_CLOCK, ...(d.uses ?? [])] : (d.uses ?? [])) add(f, []);
  const defined = new Set<string>();
  for (const f of fragments) {
    for (const name of f.defines) {
      if (defined.has(name)) throw new Error(`defineScript ${d.name}: two fragments define \`${name}\``);
      defined.add(name);
    }
  }
  const lua = [...fragments.map((f) => f.lua), ...(prologue ? [DECISION_PROLOGUE] : []), d.lua].join("\n");
  return {
    name: d.name,
    keys: d.keys,
    args: d.args,
    deadline,
    doubles: d.doubles ?? false,
    fragments,
    body: d.lua,
    lua,
    sha: createHash("sha1").update(lua).digest("hex"),
    decode: d.decode,
  };
}

/**
 * The server's clock, for every script that reads it. `server_clock(deadline)` answers TIME as
 * its strings `t` ({seconds, microseconds}), the same as numbers, now in ms (with a microsecond
 * fraction), and whether `deadline` (server ms, a number or its string; 0 = none) has passed.
 */
export const SERVER_CLOCK = luaFragment("server-clock", {
  defines: ["server_clock"],
  lua: `
local function server_clock(deadline)
  local t = redis.call('TIME')
  local sec, usec = tonumber(t[1]), tonumber(t[2])
  local now = sec * 1000 + usec / 1000
  local d = tonumber(deadline)
  return t, sec, usec, now, d > 0 and now > d
end`,
});

/** The ARGV of a `doubles` script: its numbers as big-endian doubles in one binary string. */
export function packDoubles(args: readonly (string | number)[]): Buffer {
  const b = Buffer.allocUnsafe(args.length * 8);
  for (let i = 0; i < args.length; i++) b.writeDoubleBE(args[i] as number, i * 8);
  return b;
}

/** `decode` of a script answering 1 or 0. */
export const isOne = (r: unknown): boolean => r === 1;

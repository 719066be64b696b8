import { describe, expect, it } from "vitest";
import { ADMIT_SCRIPT } from "./admission";
import { BUCKET_SCRIPT, BUCKETS_SCRIPT } from "./buckets";
import { ADD_CREDITS_SCRIPT, CHARGE_SCRIPT, LEDGER_ADD_SCRIPT, LEDGER_CHARGE_SCRIPT, LEDGER_REFUND_SCRIPT, REFUND_SCRIPT, USAGE_SCRIPT } from "./credits";
import { CLAIM_SCRIPT, COMPLETE_SCRIPT, RELEASE_SCRIPT } from "./idempotency";
import { DELETE_IF_SCRIPT, INSERT_KEY_SCRIPT, LIST_KEYS_SCRIPT, PATCH_KEY_SCRIPT, PUT_KEY_SCRIPT, REMOVE_UNUSED_KEY_SCRIPT, SWAP_STRING_SCRIPT, TOUCH_SCRIPT } from "./key-store";
import { LEDGER_ACK_SCRIPT, LEDGER_RELEASE_SCRIPT, LEDGER_SEED_SCRIPT, LEDGER_TAKE_SCRIPT } from "./ledger";
import { DECISION_LOCALS, defineScript, luaFragment, type LuaFragment, type RedisScript } from "./script";

type AnyScript = RedisScript<readonly string[], readonly (string | number)[], unknown>;

const SCRIPTS: AnyScript[] = [
  BUCKET_SCRIPT,
  BUCKETS_SCRIPT,
  ADMIT_SCRIPT,
  CLAIM_SCRIPT,
  COMPLETE_SCRIPT,
  RELEASE_SCRIPT,
  CHARGE_SCRIPT,
  REFUND_SCRIPT,
  ADD_CREDITS_SCRIPT,
  USAGE_SCRIPT,
  LEDGER_CHARGE_SCRIPT,
  LEDGER_REFUND_SCRIPT,
  LEDGER_ADD_SCRIPT,
  LEDGER_SEED_SCRIPT,
  LEDGER_TAKE_SCRIPT,
  LEDGER_ACK_SCRIPT,
  LEDGER_RELEASE_SCRIPT,
  INSERT_KEY_SCRIPT,
  PUT_KEY_SCRIPT,
  PATCH_KEY_SCRIPT,
  LIST_KEYS_SCRIPT,
  REMOVE_UNUSED_KEY_SCRIPT,
  TOUCH_SCRIPT,
  SWAP_STRING_SCRIPT,
  DELETE_IF_SCRIPT,
] as unknown as AnyScript[];

// What Redis' Lua 5.1 sandbox gives every script.
const GLOBALS = new Set(["redis", "cjson", "struct", "string", "math", "table", "tonumber", "tostring", "type", "pairs", "ipairs", "unpack", "pcall", "KEYS", "ARGV"]);
const KEYWORDS = new Set("and break do else elseif end false for function if in local nil not or repeat return then true until while".split(" "));

interface Token {
  readonly text: string;
  readonly kind: "name" | "number" | "string" | "op";
}

/** Lua source -> tokens, without comments (strings kept as one token each). */
function tokens(lua: string): Token[] {
  const out: Token[] = [];
  const re = /--\[\[[\s\S]*?\]\]|--[^\n]*|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|\[\[[\s\S]*?\]\]|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\.\.|\.\.|==|~=|<=|>=|\S/g;
  for (const [m] of lua.matchAll(re)) {
    if (m.startsWith("--")) continue;
    if (m.startsWith("'") || m.startsWith('"') || m.startsWith("[[")) out.push({ text: m, kind: "string" });
    else if (/^[A-Za-z_]/.test(m)) out.push({ text: m, kind: "name" });
    else if (/^\d/.test(m)) out.push({ text: m, kind: "number" });
    else out.push({ text: m, kind: "op" });
  }
  return out;
}

interface Analysis {
  /** Names read or written that no `local`, parameter or loop declares here. */
  readonly free: Set<string>;
  /** `local function` names at the top level, in order. */
  readonly topFunctions: string[];
  /** Whether anything other than `local function` definitions runs at the top level. */
  readonly topStatements: boolean;
  /** The literal indexes of KEYS[n] and ARGV[n]. */
  readonly keys: number[];
  readonly argv: number[];
}

/**
 * A small Lua 5.1 reader, enough for the scripts here: one flat scope per piece of code (a name
 * declared anywhere in it counts as declared), block depth from function/if/do/repeat ... end/until.
 */
function analyse(lua: string): Analysis {
  const t = tokens(lua);
  const declared = new Set<string>();
  const used: string[] = [];
  const topFunctions: string[] = [];
  const keys: number[] = [];
  const argv: number[] = [];
  let topStatements = false;
  let depth = 0;
  let braces = 0;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    const prev = t[i - 1]?.text;
    if (tok.text === "{") braces++;
    if (tok.text === "}") braces--;
    if (tok.kind !== "name") continue;
    const w = tok.text;
    if (w === "local") {
      if (t[i + 1]?.text === "function") {
        const name = t[i + 2]!.text;
        declared.add(name);
        if (depth === 0) topFunctions.push(name);
      } else {
        if (depth === 0) topStatements = true;
        for (let j = i + 1; j < t.length && t[j]!.kind === "name"; j += 2) {
          declared.add(t[j]!.text);
          if (t[j + 1]?.text !== ",") break;
        }
      }
      continue;
    }
    if (w === "function") {
      // Parameters: function name(a, b) or function(a, b).
      let j = i + 1;
      while (t[j] && t[j]!.text !== "(") j++;
      for (j++; t[j] && t[j]!.text !== ")"; j++) if (t[j]!.kind === "name") declared.add(t[j]!.text);
    }
    if (w === "for") {
      for (let j = i + 1; t[j] && t[j]!.text !== "=" && t[j]!.text !== "in"; j++) if (t[j]!.kind === "name") declared.add(t[j]!.text);
    }
    if (w === "function" || w === "if" || w === "do" || w === "repeat") {
      if (depth === 0 && !(w === "function" && prev === "local")) topStatements = true;
      depth++;
      continue;
    }
    if (w === "end" || w === "until") {
      depth--;
      continue;
    }
    if (KEYWORDS.has(w)) {
      if (depth === 0) topStatements = true;
      continue;
    }
    if (prev === "." || prev === ":") continue; // a field
    if (braces > 0 && t[i + 1]?.text === "=" ) continue; // a table constructor's key
    if (depth === 0 && prev !== "function") topStatements = true;
    if ((w === "KEYS" || w === "ARGV") && t[i + 1]?.text === "[" && t[i + 2]?.kind === "number" && t[i + 3]?.text === "]") {
      (w === "KEYS" ? keys : argv).push(Number(t[i + 2]!.text));
    }
    used.push(w);
  }
  const free = new Set(used.filter((n) => !declared.has(n) && !GLOBALS.has(n)));
  return { free, topFunctions, topStatements, keys, argv };
}

function fragmentsOf(scripts: readonly AnyScript[]): LuaFragment[] {
  return [...new Set(scripts.flatMap((s) => s.fragments))];
}

/** The problems with one fragment's declarations (empty when it says what it needs and sets). */
function fragmentProblems(f: LuaFragment): string[] {
  const a = analyse(f.lua);
  const problems: string[] = [];
  if (a.topStatements) problems.push(`${f.name}: runs code at its top level (only local functions may be there)`);
  if (a.topFunctions.join() !== f.defines.join()) problems.push(`${f.name}: defines ${a.topFunctions.join(", ")}, declares ${f.defines.join(", ")}`);
  const callable = new Set(f.uses.flatMap((u) => u.defines));
  for (const name of a.free) if (!callable.has(name)) problems.push(`${f.name}: reads \`${name}\`, which it neither declares nor takes from a fragment it uses`);
  if (a.keys.length > 0 || a.argv.length > 0) problems.push(`${f.name}: reads KEYS or ARGV (a fragment takes them as parameters)`);
  return problems;
}

/** The problems with one script body's declarations. */
function scriptProblems(s: AnyScript): string[] {
  const a = analyse(s.body);
  const problems: string[] = [];
  // A decision script's body starts after the prologue that declares the clock's locals.
  const callable = new Set<string>([...s.fragments.flatMap((f) => f.defines), ...(s.deadline && !s.doubles ? DECISION_LOCALS : [])]);
  for (const name of a.free) if (!callable.has(name)) problems.push(`${s.name}: reads \`${name}\`, which is neither local nor a function of its fragments`);
  const within = (used: number[], declared: readonly string[], what: string) => {
    const variadic = declared.at(-1)?.startsWith("...") ?? false;
    const limit = variadic ? declared.length - 1 : declared.length;
    for (const n of used) if (n > limit && !variadic) problems.push(`${s.name}: reads ${what}[${n}], declares ${declared.length}`);
  };
  within(a.keys, s.keys, "KEYS");
  within(a.argv, s.args, "ARGV");
  if (s.deadline && s.args[3] !== "deadline") problems.push(`${s.name}: a decision script's ARGV[4] must be its deadline`);
  return problems;
}

describe("the Lua scripts' declarations", () => {
  it("every shared fragment defines only the local functions it names and reads nothing another fragment sets", () => {
    const fragments = fragmentsOf(SCRIPTS);
    expect(fragments.map((f) => f.name).sort()).toEqual(["bucket", "buckets-all", "claim", "credits", "key-records", "ledger", "ledger-credits", "server-clock"]);
    expect(fragments.flatMap(fragmentProblems)).toEqual([]);
  });

  it("every script body reads only its own locals, Redis' globals and the functions of the fragments it uses, within its declared KEYS and ARGV", () => {
    expect(SCRIPTS.flatMap(scriptProblems)).toEqual([]);
    // Every declared key and argument is read by a literal index (the variadic ones by loops).
    for (const s of SCRIPTS) {
      const a = analyse(s.body + s.fragments.map((f) => f.lua).join("\n"));
      const fixedKeys = s.keys.filter((k) => !k.startsWith("...")).length;
      if (!s.keys.at(-1)?.startsWith("...")) expect(Math.max(0, ...a.keys), s.name).toBe(fixedKeys);
    }
  });

  it("knows the decision scripts by their ARGV[4], and starts each (but a doubles one, which reads its own) with the clock and the late answer, once", () => {
    expect(SCRIPTS.filter((s) => s.deadline).map((s) => s.name).sort()).toEqual(["admit", "bucket", "buckets", "charge", "claim", "ledger-charge"]);
    for (const s of SCRIPTS) {
      const prologues = s.lua.split("= server_clock(ARGV[4])").length - 1;
      expect(prologues, s.name).toBe(s.deadline && !s.doubles ? 1 : 0);
      if (s.deadline) expect(s.fragments.map((f) => f.name), s.name).toContain("server-clock");
    }
  });

  it("finds what it is meant to find: a fragment that reads a variable another one sets, top-level state, an undeclared ARGV", () => {
    const NOW = luaFragment("now", { defines: [], lua: "local t = redis.call('TIME')" });
    const USES_T = luaFragment("uses-t", { defines: ["held"], lua: "local function held(key) return t[1] .. key end" });
    const SETS_HOUR = luaFragment("sets-hour", { defines: ["charge"], lua: "local hour = 3600\nlocal function charge(b) return hour + b end" });
    expect(fragmentProblems(NOW)).toEqual(["now: runs code at its top level (only local functions may be there)"]);
    expect(fragmentProblems(USES_T)).toEqual(["uses-t: reads `t`, which it neither declares nor takes from a fragment it uses"]);
    expect(fragmentProblems(SETS_HOUR)).toEqual(["sets-hour: runs code at its top level (only local functions may be there)"]);
    const s = defineScript<[string], [string], unknown>({ name: "x", keys: ["k"], args: ["a"], uses: [USES_T], lua: "return {held(KEYS[1]), ARGV[2], now}", decode: (r) => r });
    expect(scriptProblems(s as AnyScript)).toEqual(["x: reads `now`, which is neither local nor a function of its fragments", "x: reads ARGV[2], declares 1"]);
  });

  it("composes each fragment once, after the fragments it uses, and refuses two definitions of one name", () => {
    expect(ADMIT_SCRIPT.fragments.map((f) => f.name)).toEqual(["server-clock", "bucket", "buckets-all", "claim", "credits", "ledger", "ledger-credits"]);
    const A = luaFragment("a", { defines: ["f"], lua: "local function f() return 1 end" });
    const B = luaFragment("b", { defines: ["f"], lua: "local function f() return 2 end" });
    expect(() => defineScript({ name: "twice", keys: [], args: [], uses: [A, B], lua: "return f()", decode: (r) => r })).toThrow(/two fragments define `f`/);
  });
});

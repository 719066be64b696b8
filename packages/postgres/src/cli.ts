#!/usr/bin/env node
/**
 * `alloovium-postgres migrate [--schema <name>] [--url <postgres://...>]`: applies the package's
 * migrations (the URL defaults to DATABASE_URL). Exits 0 when the schema is up to date, 1 with
 * the reason on stderr otherwise (the URL's password is never printed).
 */
import pg from "pg";
import { migrate } from "./migrate";

const USAGE = "usage: alloovium-postgres migrate [--schema <name>] [--url <postgres://...>]  (the URL defaults to DATABASE_URL)";

function parse(argv: readonly string[]): { schema?: string; url?: string } | string {
  const [command, ...rest] = argv;
  if (command !== "migrate") return USAGE;
  const out: { schema?: string; url?: string } = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = inline ?? rest[++i];
    if (value === undefined || value === "") return `${flag} needs a value\n${USAGE}`;
    if (flag === "--schema") out.schema = value;
    else if (flag === "--url") out.url = value;
    else return `unknown option ${flag}\n${USAGE}`;
  }
  return out;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === "string") {
    process.stderr.write(`${args}\n`);
    return 2;
  }
  const url = args.url ?? process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write(`no database: pass --url or set DATABASE_URL\n${USAGE}\n`);
    return 2;
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on("error", () => {});
  try {
    const r = await migrate(pool, { ...(args.schema === undefined ? {} : { schema: args.schema }), onApplied: (m) => process.stdout.write(`applied ${m.version}_${m.name}\n`) });
    process.stdout.write(`schema ${args.schema ?? "alloovium"} at version ${r.version}${r.applied.length === 0 ? " (up to date)" : ""}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`migrate failed: ${(e instanceof Error ? e.message : String(e)).replace(/\/\/[^@/\s]*@/g, "//***@")}\n`);
    return 1;
  } finally {
    await pool.end().catch(() => {});
  }
}

process.exitCode = await main();

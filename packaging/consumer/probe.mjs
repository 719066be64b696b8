// Imports each entry point named on the command line from an ES module, as an installed user
// would, and prints what it found as JSON: where it resolved, each export's typeof, or the error.
const results = {};
for (const spec of process.argv.slice(2)) {
  try {
    const resolved = import.meta.resolve(spec);
    const mod = await import(spec);
    results[spec] = { resolved, exports: Object.fromEntries(Object.entries(mod).map(([k, v]) => [k, typeof v])) };
  } catch (e) {
    results[spec] = { error: { code: e?.code ?? null, message: String(e?.message ?? e) } };
  }
}
process.stdout.write(JSON.stringify(results));

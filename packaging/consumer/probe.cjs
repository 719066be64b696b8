// The same as probe.mjs from a CommonJS module: require() each entry point named on the
// command line and print where it resolved, each export's typeof, or the error, as JSON.
const results = {};
for (const spec of process.argv.slice(2)) {
  try {
    const resolved = require.resolve(spec);
    const mod = require(spec);
    results[spec] = { resolved, exports: Object.fromEntries(Object.entries(mod).map(([k, v]) => [k, typeof v])) };
  } catch (e) {
    results[spec] = { error: { code: (e && e.code) || null, message: String((e && e.message) || e) } };
  }
}
process.stdout.write(JSON.stringify(results));

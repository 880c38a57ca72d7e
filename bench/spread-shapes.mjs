#!/usr/bin/env node
// How this Node's V8 builds objects from spreads: for each way of writing "an object with these fields plus those of
// another", whether 1,000 such objects share one hidden class (map), and the time to build one. On Node 20 (V8 11.3)
// an object that *begins* with a spread and then gets any other property gets a map of its own every time: ~0.5 µs
// a property, and a map and its descriptors left in the old space for the next mark-compact. Node 24 shares them.
// The gateway's hot paths are written the shared way (bench/README.md, "Objects that begin with a spread").
//
//   node bench/spread-shapes.mjs   (it starts itself again with --allow-natives-syntax, for %HaveSameMap)
if (!process.execArgv.includes('--allow-natives-syntax')) {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const child = ['--allow-natives-syntax', fileURLToPath(import.meta.url)];
  process.exit(spawnSync(process.execPath, child, { stdio: 'inherit' }).status ?? 1);
}
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
const run = (i) => ({ actor: { subject: 'a' }, appliance: 'vc-01', schedule: 'default', requestId: `r${i & 7}` });
const outcome = (i) => ({ outcome: 'accepted', httpStatus: 202, jobId: `j${i & 7}` });
const ways = {
  '{ ...a, x }': (i) => ({ ...run(i), durationMs: i }),
  '{ ...a, ...b }': (i) => ({ ...run(i), ...outcome(i) }),
  '{ ...a } then .x =': (i) => {
    const o = { ...run(i) };
    o.durationMs = i;
    return o;
  },
  '{ x, ...a }': (i) => ({ durationMs: i, ...run(i) }),
  '{ x, ...a, ...b }': (i) => ({ durationMs: i, ...run(i), ...outcome(i) }),
  'Object.assign(a, { x })': (i) => Object.assign(run(i), { durationMs: i }),
  '{ ...a }': (i) => ({ ...run(i) }),
};
console.log(`${process.version} (V8 ${process.versions.v8})`);
for (const [name, make] of Object.entries(ways)) {
  const objects = Array.from({ length: 1000 }, (_, i) => make(i));
  const shared = objects.filter((o) => sameMap(o, objects[999])).length;
  const n = 300_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) make(i);
  const ns = Number(process.hrtime.bigint() - started) / n;
  console.log(
    `  ${name.padEnd(26)} ${String(shared).padStart(5)} of 1000 share a map, ${ns.toFixed(0).padStart(5)} ns each`,
  );
}

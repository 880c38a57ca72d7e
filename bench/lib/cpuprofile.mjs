// Summaries of a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per
// package, and inclusive time per function (each sample counted once per function on its stack). Frames of the
// gateway's bundle are named by their sources (source-maps.mjs), so that each library is charged its own time.
import { frameResolver } from './source-maps.mjs';

export function packageOf(url) {
  if (!url) return '(native/v8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    // class-validator's and class-transformer's own source maps name their TypeScript sources without the package
    // (`node_modules/src/...` once the bundle's map is composed with theirs): the only packages here that do.
    if (rest[0] === 'src') return 'class-validator / class-transformer';
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node:core';
  if (url.includes('/dist/')) return 'gateway (dist/)';
  if (url.includes('/src/')) return 'gateway (src/)';
  return url.replace(/^file:\/\//, '');
}

export function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  const src = url.lastIndexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Only samples between fromMs and toMs after the profile's start count (to leave start-up out).
 * Returns { totalMs, selfByFunction, selfByPackage, byNearestPackage, inclusiveByFunction } sorted descending (ms). */
export function summarizeProfile(profile, { fromMs = 0, toMs = Number.POSITIVE_INFINITY } = {}) {
  const resolve = frameResolver();
  const byId = new Map(profile.nodes.map((n) => [n.id, { ...n, callFrame: resolve(n.callFrame) }]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const selfPkg = new Map();
  const inclusive = new Map();
  const nearest = new Map();
  let total = 0;
  const add = (map, key, v) => map.set(key, (map.get(key) ?? 0) + v);
  let at = 0; // ms since the profile started
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000; // µs → ms
    at += dt;
    if (at < fromMs || at > toMs) continue;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    total += dt;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      add(self, name, dt);
      add(selfPkg, name, dt);
      continue;
    }
    add(self, label(node), dt);
    add(selfPkg, packageOf(node.callFrame.url), dt);
    // Charge the sample to the nearest frame that belongs to a library or to the gateway, so that
    // the native and node:core work a library triggers (socket writes, crypto) counts as its cost.
    let owner = '(node:core / native, no library frame on the stack)';
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const pkg = packageOf(byId.get(id).callFrame.url);
      if (pkg !== 'node:core' && pkg !== '(native/v8)') {
        owner = pkg;
        break;
      }
    }
    add(nearest, owner, dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const key = label(byId.get(id));
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, dt);
      }
    }
  }
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms }));
  return {
    totalMs: total,
    selfByFunction: sorted(self),
    selfByPackage: sorted(selfPkg),
    byNearestPackage: sorted(nearest),
    inclusiveByFunction: sorted(inclusive),
  };
}

/** Main-thread time the profile was not idle, in ms: what the printed percentages are of. */
export function busyMs(summary) {
  return summary.totalMs - (summary.selfByPackage.find((p) => p.name === '(idle)')?.ms ?? 0);
}

/**
 * Prints a summary (summarizeProfile's) as profile.mjs and profile-fleet.mjs do: self time by package, by package
 * with the core work it calls, self time by function, inclusive time of frames from node_modules and dist/; each
 * line in ms, % of busy time and, with `requests`, µs per request.
 */
export function printProfileSummary(summary, { top = 30, requests } = {}) {
  const busy = busyMs(summary);
  const perRequest = (ms) => (requests ? ` ${((ms * 1000) / requests).toFixed(1).padStart(7)} µs/req` : '');
  const line = ({ ms, name }) =>
    `  ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)}%${perRequest(ms)}  ${name}`;
  const busyOnly = (rows) => rows.filter((row) => row.name !== '(idle)');
  const sections = [
    ['self time by package:', busyOnly(summary.selfByPackage).slice(0, 20)],
    [
      'by package, with the node:core and native work it calls (nearest library frame on the stack):',
      busyOnly(summary.byNearestPackage).slice(0, 20),
    ],
    ['self time by function:', busyOnly(summary.selfByFunction).slice(0, top)],
    [
      'inclusive time by function (frames from node_modules, dist/ and src/):',
      summary.inclusiveByFunction.filter((f) => /node_modules|dist\/|src\//.test(f.name)).slice(0, top),
    ],
  ];
  console.log(sections.map(([title, rows]) => [title, ...rows.map(line)].join('\n')).join('\n\n'));
}

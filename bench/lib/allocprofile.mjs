// Summary of a V8 sampling heap profile (.heapprofile, tools/alloc-sampling.mjs): bytes allocated per request by
// function (self), by package, by the nearest library or gateway frame on the stack (so that what node:core allocates
// for a library counts as the library's), and inclusive by gateway function. V8 scales each sample to the bytes it
// stands for, so the sums estimate the bytes allocated while sampling, freed objects included.
import { packageOf, shortUrl } from './cpuprofile.mjs';
import { frameResolver } from './source-maps.mjs';

const NEAREST_NONE = '(node:core / native, no library frame on the stack)';
const GATEWAY = /^gateway /;

export function summarizeAllocations(profile) {
  const self = new Map();
  const selfPkg = new Map();
  const nearest = new Map();
  const inclusive = new Map();
  const add = (map, key, v) => map.set(key, (map.get(key) ?? 0) + v);
  const label = (f) => `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  const resolve = frameResolver();
  let total = 0;
  const walk = (node, stack) => {
    const frame = resolve(node.callFrame);
    const here = [...stack, frame];
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(self, label(frame), node.selfSize);
      add(selfPkg, packageOf(frame.url), node.selfSize);
      const owner = here.findLast((f) => f.url && !f.url.startsWith('node:'));
      add(nearest, owner ? packageOf(owner.url) : NEAREST_NONE, node.selfSize);
      for (const name of new Set(here.filter((f) => GATEWAY.test(packageOf(f.url))).map(label)))
        add(inclusive, name, node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, here);
  };
  walk(profile.head, []);
  const sorted = (map) => [...map].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
  return {
    totalBytes: total,
    selfByFunction: sorted(self),
    selfByPackage: sorted(selfPkg),
    byNearestPackage: sorted(nearest),
    inclusiveByGatewayFunction: sorted(inclusive),
  };
}

export function printAllocationSummary(profile, { top = 30, requests = 1 } = {}) {
  const summary = summarizeAllocations(profile);
  const perRequest = (bytes) => `${(bytes / requests / 1024).toFixed(2).padStart(8)} KB/req`;
  const share = (bytes) => `${((100 * bytes) / summary.totalBytes).toFixed(1).padStart(5)} %`;
  console.log(
    `allocated while sampling: ${(summary.totalBytes / 1048576).toFixed(1)} MB over ${requests} requests = ${perRequest(summary.totalBytes)}\n`,
  );
  for (const [title, rows] of [
    ['by package (self):', summary.selfByPackage],
    ['by the nearest library or gateway frame:', summary.byNearestPackage],
    ['by function (self):', summary.selfByFunction],
    ['inclusive, by gateway function:', summary.inclusiveByGatewayFunction],
  ]) {
    console.log(title);
    for (const row of rows.slice(0, top)) console.log(`  ${perRequest(row.bytes)} ${share(row.bytes)}  ${row.name}`);
    console.log('');
  }
}

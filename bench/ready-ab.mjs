#!/usr/bin/env node
// Time to ready of two builds, started in turn (A, B, A, B, ...), so that a change to start-up is a ratio measured
// in one run on this shared machine rather than two absolute times from different hours.
//
//   BENCH_PROJECT_ROOT_B=/other/checkout node bench/ready-ab.mjs [--starts 9]
//   (without BENCH_PROJECT_ROOT_B, both sides are this checkout: the ratio then shows the noise)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startIdentityProvider } from './lib/jwt.mjs';
import { pinCpus } from './lib/pin.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { startGateway, startUpstream } from './lib/servers.mjs';
import { median } from './lib/stats.mjs';

const { values } = parseArgs({ options: { starts: { type: 'string', default: '9' } } });
installExitHandlers({ deadlineMs: 300_000 });
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootA = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
const rootB = path.resolve(process.env.BENCH_PROJECT_ROOT_B ?? rootA);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-ready-'));
// As in `npm run bench`: the servers on one core, this driver on the other.
const pinning = pinCpus();
const ctx = { root: rootA, benchDir, tmp, log: () => {} };
ctx.idp = await startIdentityProvider();
ctx.upstream = await startUpstream(ctx);
const times = { A: [], B: [] };
for (let i = 0; i < Number(values.starts); i++) {
  for (const [side, root] of i % 2 === 0 ? [['A', rootA], ['B', rootB]] : [['B', rootB], ['A', rootA]]) {
    const nodeArgs = side === 'B' ? (process.env.BENCH_NODE_ARGS_B ?? '').split(' ').filter(Boolean) : [];
    const gateway = await startGateway(ctx, { name: `ready-${side}-${i}`, root, nodeArgs });
    times[side].push(gateway.readyMs);
    await gateway.stop({ graceMs: 10_000 });
  }
}
const a = median(times.A);
const b = median(times.B);
console.log(`A ${rootA}: median ${a.toFixed(0)} ms (${times.A.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`B ${rootB}: median ${b.toFixed(0)} ms (${times.B.map((t) => t.toFixed(0)).join(', ')})`);
console.log(`servers: ${pinning.skipped ?? `CPU ${pinning.servers}`}`);
console.log(`B / A ${(b / a).toFixed(3)}`);
await ctx.upstream.stop?.();
process.exit(0);

#!/usr/bin/env node
// Where the gateway's CPU goes on the hot path: runs the built gateway under `node --cpu-prof`
// against the fast upstream, loads it for a while, stops it (SIGTERM, so the profile is written)
// and prints self time per package and per function, and inclusive time of the heaviest frames.
//
//   node bench/profile.mjs [--seconds 8] [--method POST|GET] [--target gateway|floor] [--level warn|info] [--audit off|sqlite] [--top 30] [--keep]
//   node bench/profile.mjs --startup      (where the time from spawn to ready goes, no load)
//   node bench/profile.mjs --startup --modules   (also: the modules it loaded, by package; the hook that counts them
//                                                  slows every module load, so start-up times are longer with it)
//   node bench/profile.mjs --alloc        (instead of CPU: bytes allocated per request, by package and by function,
//                                          freed objects included; tools/alloc-sampling.mjs, a .heapprofile)
//   node bench/profile.mjs --unbundled    (dist/main-unbundled.js: the same build module by module, lines per file)
//   node bench/profile.mjs --alloc --survivors   (only what outlived a scavenge: what the old space receives)
//   (BENCH_PROJECT_ROOT=/other/checkout profiles another build)
//
// Needs `npm run build` first. The .cpuprofile is written to bench/profiles/ (git-ignored) with --keep
// (open it in Chrome DevTools or speedscope), otherwise to a temporary directory that is removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printAllocationSummary } from './lib/allocprofile.mjs';
import { busyMs, printProfileSummary, summarizeProfile } from './lib/cpuprofile.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { runLoad } from './lib/load.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { APPLIANCE_ID, startFloor, startGateway, startUpstream } from './lib/servers.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    method: { type: 'string', default: 'POST' },
    top: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
    target: { type: 'string', default: 'gateway' },
    startup: { type: 'boolean', default: false },
    level: { type: 'string', default: 'warn' },
    audit: { type: 'string', default: 'off' },
    modules: { type: 'boolean', default: false },
    alloc: { type: 'boolean', default: false },
    survivors: { type: 'boolean', default: false },
    unbundled: { type: 'boolean', default: false },
  },
});
installExitHandlers({ deadlineMs: 120_000 });
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-profile-'));
const profDir = values.keep ? path.join(benchDir, 'profiles') : path.join(tmp, 'prof');
fs.mkdirSync(profDir, { recursive: true });
const ctx = { root, benchDir, tmp };
let requests = 1;

try {
  ctx.idp = await startIdentityProvider();
  ctx.upstream = await startUpstream(ctx);
  const before = new Set(fs.readdirSync(profDir));
  const allocOut = path.join(profDir, `alloc-${Date.now()}.heapprofile`);
  const nodeArgs = values.alloc
    ? ['--import', path.join(path.dirname(benchDir), 'tools', 'alloc-sampling.mjs')]
    : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
  if (values.alloc) process.env.ALLOC_PROFILE_OUT = allocOut; // inherited by the server, written at its exit
  if (values.survivors) process.env.ALLOC_SURVIVORS = '1';
  const loadedFilesOut = path.join(tmp, 'loaded-files.json');
  if (values.modules) {
    process.env.LOADED_FILES_OUT = loadedFilesOut; // inherited by the server, written by the preload at its exit
    nodeArgs.push('--import', path.join(path.dirname(benchDir), 'tools', 'loaded-files.mjs'));
  }
  if (values.target !== 'gateway' && values.target !== 'floor') throw new Error('--target gateway|floor');
  const gateway =
    values.target === 'floor'
      ? await startFloor(ctx, ctx.upstream, { nodeArgs })
      : await startGateway(ctx, {
          name: 'gateway-profiled',
          nodeArgs,
          // The same build loaded module by module: each frame has its own file and line (positionTicks mean something).
          entry: values.unbundled ? 'dist/main-unbundled.js' : undefined,
          level: values.level,
          extraConfig:
            values.audit === 'sqlite'
              ? { audit: { store: 'sqlite', sqlite: { path: path.join(tmp, 'profile-audit.db') } } }
              : {},
        });
  const token = await ctx.idp.token();
  const post = values.method.toUpperCase() === 'POST';
  const load = {
    url: post
      ? `${gateway.url}/appliances/${APPLIANCE_ID}/backups/schedules/default/run`
      : `${gateway.url}/appliances/${APPLIANCE_ID}/backups/jobs/20261126-120000-00000001`,
    method: post ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, ...(post ? { 'content-type': 'application/json' } : {}) },
    body: post ? JSON.stringify({ comment: 'bench' }) : undefined,
  };
  let fromMs = 0;
  let toMs = gateway.readyMs ?? 0;
  let result = { rps: 0, responses: 1, cpuPerRequest: { gateway: Number.NaN } };
  if (!values.startup) {
    await runLoad({ ...load, durationSec: 2 }); // warm-up (JIT): left out of the summary
    if (values.alloc) process.kill(gateway.pid, 'SIGUSR2'); // allocation sampling starts now
    fromMs = performance.now() - gateway.spawnedAt;
    result = await runLoad({ ...load, durationSec: Number(values.seconds), cpuPids: { gateway: gateway.pid } });
    toMs = performance.now() - gateway.spawnedAt;
  } else {
    console.log(
      `start-up: ready in ${toMs.toFixed(0)} ms (spawn to first 200 on /health/ready); µs/req below means µs in total`,
    );
  }
  requests = result.responses;
  console.log(
    `${values.target} ${load.method} under load: ${result.rps.toFixed(0)} req/s, CPU ${result.cpuPerRequest.gateway.toFixed(0)} µs/request (profiled: slower than unprofiled); other processes ${result.otherCores?.toFixed(2)} cores`,
  );
  await gateway.stop({ graceMs: 15_000 });
  if (values.alloc) {
    printAllocationSummary(JSON.parse(fs.readFileSync(allocOut, 'utf8')), { top: Number(values.top), requests });
    if (values.keep) console.log(`\nprofile: ${allocOut}`);
  } else {
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
    if (!file) throw new Error('no .cpuprofile written');
    // Times since spawn; the profile starts a few ms after spawn, close enough to cut start-up and warm-up out.
    const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')), { fromMs, toMs });
    const top = Number(values.top);
    const busy = busyMs(summary);
    console.log(
      `\nprofile: ${path.join(profDir, file)}\nmeasured window: ${requests} requests, sampled ${summary.totalMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (percentages of busy time; µs per request served)\n`,
    );
    printProfileSummary(summary, { top, requests });
    if (values.modules) {
      const files = JSON.parse(fs.readFileSync(loadedFilesOut, 'utf8'));
      const byPackage = {};
      for (const file of files) {
        const nm = file.lastIndexOf('node_modules/');
        const rest = nm >= 0 ? file.slice(nm + 'node_modules/'.length).split('/') : undefined;
        const name = rest ? (rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]) : '(the project’s own files)';
        byPackage[name] = (byPackage[name] ?? 0) + 1;
      }
      console.log(`\nmodules loaded by the time it exited: ${files.length} files`);
      for (const [name, count] of Object.entries(byPackage)
        .sort((a, b) => b[1] - a[1])
        .slice(0, top))
        console.log(`  ${String(count).padStart(7)}  ${name}`);
    }
  }
} finally {
  await ctx.upstream?.stop();
  await ctx.idp?.close();
  if (!values.keep) fs.rmSync(tmp, { recursive: true, force: true });
}

#!/usr/bin/env node
// Where a gateway's CPU goes with a fleet behind it (the background health probes, timers, GC): a simulated fleet of
// --appliances, a gateway under `node --cpu-prof`, profiled over --seconds once start-up work has settled; idle, or
// answering GET /appliances --list-rate times a second (the fleet-size scenario's list), or running one fleet run by
// tag over every appliance (--fleet-run, `fleet.concurrency` 8, as the fleet-size scenario's; the window is the run).
//
// At the end it scrapes /metrics once and says how large it was and how long it took.
//
//   node bench/profile-fleet.mjs [--appliances 500] [--settle 10] [--seconds 30] [--list-rate 0 | --fleet-run]
//                               [--node-args '--max-old-space-size=400'] [--top 30] [--keep]
// (--node-args come after npm start's flags, so a V8 flag given there wins)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicros } from './lib/cpu.mjs';
import { busyMs, printProfileSummary, summarizeProfile } from './lib/cpuprofile.mjs';
import { scrapeMetrics } from './lib/http.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { runPaced } from './lib/paced.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { startGateway, startSimulatorFleet } from './lib/servers.mjs';

const { values } = parseArgs({
  options: {
    appliances: { type: 'string', default: '500' },
    settle: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    top: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
    'list-rate': { type: 'string', default: '0' },
    'fleet-run': { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
  },
});
installExitHandlers({ deadlineMs: 300_000 });
const METRICS_TOKEN = 'bench-metrics-token-0123456789abcdef';
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-profile-fleet-'));
const profDir = values.keep ? path.join(benchDir, 'profiles') : path.join(tmp, 'prof');
fs.mkdirSync(profDir, { recursive: true });
const ctx = { root, benchDir, tmp, log: () => {} };
ctx.idp = await startIdentityProvider();
const size = Number(values.appliances);
const sims = await startSimulatorFleet(ctx, { count: size, latencyMs: 50, jobDurationMs: 600_000, targets: size });
const before = new Set(fs.readdirSync(profDir));
const gateway = await startGateway(ctx, {
  name: 'gateway-fleet-profiled',
  appliances: sims.urls.map((url, i) => ({ id: `vc-${String(i + 1).padStart(4, '0')}`, url })),
  extraConfig: {
    fleet: { maxAppliances: Math.max(size, 500), concurrency: 8 },
    metrics: { bearerToken: METRICS_TOKEN },
  },
  nodeArgs: [...values['node-args'].split(' ').filter(Boolean), '--cpu-prof', `--cpu-prof-dir=${profDir}`],
});
await new Promise((resolve) => setTimeout(resolve, Number(values.settle) * 1000));
await sims.resetCounters();
const fromMs = performance.now() - gateway.spawnedAt;
const cpuBefore = cpuMicros(gateway.pid);
const listRate = Number(values['list-rate']);
const token = await ctx.idp.token({ scope: 'backups:read backups:run' });
const fleetRun = async () => {
  const started = performance.now();
  const answer = await fetch(`${gateway.url}/backups/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ schedule: 'default', tags: ['bench'], comment: 'profile' }),
  });
  await answer.arrayBuffer();
  console.log(`fleet run over ${size}: ${answer.status} in ${(performance.now() - started).toFixed(0)} ms`);
};
const list = values['fleet-run']
  ? await fleetRun()
  : listRate > 0
    ? await runPaced({
        url: `${gateway.url}/appliances`,
        headers: { authorization: `Bearer ${token}` },
        rate: listRate,
        durationSec: Number(values.seconds),
      })
    : await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
const cpuMs = (cpuMicros(gateway.pid) - cpuBefore) / 1000;
const toMs = performance.now() - gateway.spawnedAt;
const upstream = (await sims.stats()).total;
const scrape = await scrapeMetrics(gateway.url, METRICS_TOKEN);
await gateway.stop({ graceMs: 15_000 });
await sims.stop();
const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')), { fromMs, toMs });
const probes = upstream.requests ?? 0;
const windowMs = toMs - fromMs;
console.log(
  `${size} appliances, ${(windowMs / 1000).toFixed(1)} s measured: ${cpuMs.toFixed(0)} ms of CPU (${((100 * cpuMs) / windowMs).toFixed(2)} % of a core, profiled), ${probes} upstream requests (${(cpuMs / Math.max(1, probes)).toFixed(2)} ms each)`,
);
const heapUsed = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(scrape.text)?.[1]);
console.log(
  `/metrics: ${scrape.status}, ${(scrape.bytes / 1e6).toFixed(2)} MB, ${scrape.lines} lines, in ${scrape.ms.toFixed(0)} ms (after the window, not profiled in it); heap used ${(heapUsed / 1e6).toFixed(1)} MB`,
);
if (list)
  console.log(`GET /appliances ×${list.requests}: p50 ${list.p50.toFixed(1)} ms, p99 ${list.p99.toFixed(1)} ms`);
console.log(`busy ${busyMs(summary).toFixed(0)} ms of the main thread (percentages below are of it):\n`);
printProfileSummary(summary, { top: Number(values.top) });
console.log(`\nprofile: ${path.join(profDir, file)}`);
if (!values.keep) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(0);

#!/usr/bin/env node
// What a fleet run asks the appliances, and what following its backups costs afterwards: a simulated fleet of
// BENCH_APPLIANCES (1,000; 50 ms each, a backup target each), a gateway, BENCH_SETTLE_SECONDS (45: the start-up read of
// every job list is over), then BENCH_RUNS (1) fleet runs by tag over min(1,000, fleet) members (`fleet.concurrency` 8),
// each with the simulators' counters summed (runs, job reads, schedule lists, logins...); then, while the last run's
// backups go on (600 s each), the gateway's CPU and the job reads per second over BENCH_FOLLOW_SECONDS (30), starting
// BENCH_FOLLOW_AFTER_SECONDS (45) after the run. BENCH_PROJECT_ROOT measures another built checkout (an A/B in turn).
//
//   node bench/fleet-run-mix.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './lib/cpu.mjs';
import { requestJson } from './lib/http.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { startGateway, startSimulatorFleet } from './lib/servers.mjs';

const number = (name, fallback) => Number(process.env[name] ?? fallback);
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
installExitHandlers({ deadlineMs: 900_000 });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-fleet-run-mix-'));
const ctx = { root, benchDir, tmp, log: () => {} };
ctx.idp = await startIdentityProvider();
const size = number('BENCH_APPLIANCES', 1000);
const members = Math.min(size, 1000);
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const sims = await startSimulatorFleet(ctx, { count: size, latencyMs: 50, jobDurationMs: 600_000, targets: size });
const gateway = await startGateway(ctx, {
  name: 'gateway-fleet-run-mix',
  appliances: sims.urls.map((url, i) => ({ id: `vc-${i}`, url, tags: i < members ? ['bench', 'run'] : ['bench'] })),
  extraConfig: { fleet: { maxAppliances: Math.max(size, 500), concurrency: 8 } },
});
/** The simulators' counters, summed over the fleet. */
const counted = async () => {
  const sum = {};
  for (const appliance of (await sims.stats()).appliances)
    for (const [key, value] of Object.entries(appliance))
      if (typeof value === 'number') sum[key] = (sum[key] ?? 0) + value;
  return sum;
};
await sleep(number('BENCH_SETTLE_SECONDS', 45));
const token = await ctx.idp.token({ scope: 'backups:read backups:run' });
for (let i = 0; i < number('BENCH_RUNS', 1); i++) {
  await sims.finishJobs();
  await sims.resetCounters();
  const cpuBefore = cpuMicros(gateway.pid);
  const answer = await requestJson(`${gateway.url}/backups/runs`, {
    method: 'POST',
    token,
    body: { schedule: 'default', tags: ['run'], comment: 'fleet run mix' },
    timeoutMs: 300_000,
  });
  const cpuMs = (cpuMicros(gateway.pid) - cpuBefore) / 1000;
  console.log(
    `run ${i + 1} over ${members} of ${size}: ${answer.status} in ${answer.ms.toFixed(0)} ms (ideal ${Math.ceil(members / 8) * 50} ms), gateway CPU ${(cpuMs / members).toFixed(2)} ms per member`,
  );
  console.log(`  asked of the appliances: ${JSON.stringify(await counted())}`);
}
const after = number('BENCH_FOLLOW_AFTER_SECONDS', 45);
const seconds = number('BENCH_FOLLOW_SECONDS', 30);
await sleep(after);
await sims.resetCounters();
const cpuBefore = cpuMicros(gateway.pid);
await sleep(seconds);
const cores = (cpuMicros(gateway.pid) - cpuBefore) / 1e6 / seconds;
const sum = await counted();
console.log(
  `following ${members} running backups, ${after}–${after + seconds} s after the run: ${(cores * 100).toFixed(2)} % of a core, ${(sum.jobGets / seconds).toFixed(1)} job reads/s, ${(sum.requests / seconds).toFixed(1)} upstream requests/s`,
);
await gateway.stop({ graceMs: 15_000 });
await sims.stop();
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(0);

// Scenario: what queued fleet-run members cost (issue 20: 10,000 queued members under 50 MB of RSS). 2,000 simulated
// appliances on one backup target (BENCH_QUEUED_APPLIANCES), hour-long jobs, `fleet.perTargetConcurrency: 4`; once the
// gateway's start-up work on the fleet has settled, BENCH_QUEUED_RUNS (5) fleet runs by tag over all of them with
// `Prefer: respond-async`: 10,000 members, 4 running, the rest queued behind them. The gateway's RSS is sampled every
// 250 ms from before the first request until 10 poll intervals after the last (each interval every unfinished run is
// read and its queue looked at); reported: the peak and the last sample above the settled RSS before the requests.
// Once with the audit store the gateway ships with (SQLite, where fleet runs are durable) and once with it off (fleet
// runs in the process's memory, the worst case for the heap).
// bench/check.mjs reads result.variants[].peakGrowthBytes and result.variants[].queued.
import { coresOver, rssBytes } from '../lib/cpu.mjs';
import { requestJson } from '../lib/http.mjs';
import { startGateway, startSimulatorFleet } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const PER_TARGET = 4;
const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

/** Waits until the gateway's CPU stays under 10 % of a core over 2 s (at most `maxMs`). */
async function settle(pid, maxMs) {
  const started = performance.now();
  for (;;) {
    const cores = await coresOver(pid, 2000);
    if (cores < 0.1 || performance.now() - started > maxMs) return cores;
  }
}

async function measure(ctx, { label, audit, appliances, runs, token }) {
  const sims = await startSimulatorFleet(ctx, {
    count: appliances,
    targets: 1,
    jobDurationMs: 3_600_000,
    name: `queued-${label}-simulators`,
  });
  let gateway;
  try {
    gateway = await startGateway(ctx, {
      name: `gateway-queued-${label}`,
      appliances: sims.urls.map((url, i) => ({ id: `vc-${String(i + 1).padStart(4, '0')}`, url })),
      extraConfig: {
        audit,
        fleet: { perTargetConcurrency: PER_TARGET, maxAppliances: appliances },
        jobs: { pollIntervalMs: POLL_MS },
      },
    });
    await settle(gateway.pid, 60_000);
    const before = [];
    for (let i = 0; i < 8; i++) {
      before.push(rssBytes(gateway.pid));
      await sleep(250);
    }
    const baseline = median(before);
    const samples = [];
    const sampler = setInterval(() => samples.push(rssBytes(gateway.pid)), 250);
    const ids = [];
    try {
      for (let i = 0; i < runs; i++) {
        const answer = await requestJson(`${gateway.url}/backups/runs`, {
          method: 'POST',
          token,
          body: { schedule: SCHEDULE, tags: ['bench'], comment: `bench queued ${i}` },
          headers: { prefer: 'respond-async' },
          expect: 202,
        });
        ids.push(answer.json.id);
      }
      await sleep(10 * POLL_MS);
    } finally {
      clearInterval(sampler);
    }
    const states = {};
    for (const id of ids) {
      const run = (await requestJson(`${gateway.url}/backups/runs/${id}`, { token, expect: 200 })).json;
      for (const member of run.members) states[member.state] = (states[member.state] ?? 0) + 1;
    }
    const peak = Math.max(...samples);
    const last = samples[samples.length - 1];
    const variant = {
      label,
      members: runs * appliances,
      queued: states.queued ?? 0,
      states,
      rssBeforeBytes: baseline,
      rssPeakBytes: peak,
      rssLastBytes: last,
      peakGrowthBytes: peak - baseline,
      lastGrowthBytes: last - baseline,
    };
    ctx.log(
      `  ${label}: ${variant.queued} queued of ${variant.members}; RSS ${fmt(baseline / 1e6, 1)} MB before, ` +
        `peak +${fmt(variant.peakGrowthBytes / 1e6, 1)} MB, last +${fmt(variant.lastGrowthBytes / 1e6, 1)} MB`,
    );
    return variant;
  } finally {
    await gateway?.stop({ graceMs: 10_000 });
    await sims.stop();
  }
}

export async function queuedMembers(ctx) {
  const appliances = count('BENCH_QUEUED_APPLIANCES', 2000);
  const runs = count('BENCH_QUEUED_RUNS', 5);
  ctx.log(`queuedMembers: ${runs} queued fleet runs over ${appliances} appliances on one target, ${PER_TARGET} at a time`);
  const token = await ctx.idp.token({ scope: 'backups:run backups:read', expiresInSeconds: 3600 });
  const variants = [];
  for (const [label, audit] of [
    ['sqlite', { store: 'sqlite', sqlite: { path: `${ctx.tmp}/queued-audit.db` } }],
    ['off', { store: 'off' }],
  ]) {
    variants.push(await measure(ctx, { label, audit, appliances, runs, token }));
  }
  const result = { appliances, runs, perTargetConcurrency: PER_TARGET, pollIntervalMs: POLL_MS, variants };
  const rows = variants.map((v) => ({
    scenario: `queued fleet-run members: ${fmt(v.members)} (${runs} runs × ${fmt(appliances)} appliances, one target)`,
    target: `audit ${v.label}`,
    notes: `${fmt(v.queued)} queued; RSS ${fmt(v.rssBeforeBytes / 1e6, 1)} MB before, peak +${fmt(v.peakGrowthBytes / 1e6, 1)} MB, after ${POLL_MS * 10} ms +${fmt(v.lastGrowthBytes / 1e6, 1)} MB`,
  }));
  return { result, rows };
}

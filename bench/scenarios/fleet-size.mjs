// Scenario: fleet size (issue 21). The gateway configured with 100, 500, 1,000 and 2,000 simulated appliances
// (BENCH_FLEET_SIZES=100,500 overrides the list), all in one simulator process on 127.0.0.1, each answering 50 ms late
// (the simulators' latency fault, as in the fleet scenario). Per size, on a fresh gateway:
//   - start to ready: spawn → first 200 on /health/ready (polled every 5 ms), and VmRSS right then;
//   - start-up read: the first backup-freshness read of every appliance (a login and its job list each) is waited
//     for, every appliance's `backup.checkedAt` set (at most BENCH_FLEET_SETTLE_SECONDS), and its time and CPU reported;
//   - settle: the rest of the start-up work is let finish (the gateway's CPU under 10 % of a core over 2 s, at most
//     BENCH_FLEET_SETTLE_SECONDS);
//   - idle: the CPU the gateway spends over BENCH_FLEET_IDLE_SECONDS (30, one `fleet.statusMaxAgeMs`) with no caller
//     at all, as a share of one core: what keeping the fleet's status live costs; with the upstream requests the
//     simulators counted in that window;
//   - GET /appliances (every appliance with its live status), paced: BENCH_FLEET_LIST_RATE (5) requests/s for
//     BENCH_FLEET_LIST_SECONDS (20), one at a time as a dashboard would, p50/p99 from send to last byte;
//   - a fleet run by tag over min(1,000, size) appliances (the tag `fleet-run`), fleet.concurrency 8, against the
//     ideal ceil(members / 8) × 50 ms; running jobs are ended at the simulators first (/finish) so that every member
//     accepts; BENCH_FLEET_SIZE_RUNS (2) runs, the median reported;
//   - one /metrics scrape after the runs: its size and the time to answer it;
//   - following: the last run's backups still run (600 s each); BENCH_FLEET_FOLLOW_AFTER_SECONDS (60) later, the CPU
//     and the job reads per second over BENCH_FLEET_FOLLOW_SECONDS (30): what following a fleet's backups costs once
//     each is read at the longest gap (30 poll intervals: src/backups/waves/follow-pace.ts), so that the window holds
//     one read of each.
// BENCH_FLEET_BACKGROUND_PROBES=false runs the gateway with fleet.backgroundProbes off (the behaviour before them).
// RSS growth per appliance: the least-squares slope of RSS after start over the sizes.
// bench/check.mjs reads result.sizes[], result.rssPerApplianceBytes.
import { coresOver, cpuMicros, rssBytes } from '../lib/cpu.mjs';
import { countBy, countsText, requestJson, scrapeMetrics } from '../lib/http.mjs';
import { runPaced } from '../lib/paced.mjs';
import { startGateway, startSimulatorFleet } from '../lib/servers.mjs';
import { median, round } from '../lib/stats.mjs';
import { fmt, fmtRatio } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const LATENCY_MS = 50;
const CONCURRENCY = 8;
const RUN_TAG = 'fleet-run';
const METRICS_TOKEN = 'bench-fleet-size-metrics-token-0123456789';
const mbOf = (bytes) => fmt(bytes / 1e6, 2);
const MAX_RUN_MEMBERS = 1000;

const env = (name, fallback) => {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
};

export function fleetSizes() {
  const list = (process.env.BENCH_FLEET_SIZES ?? '100,500,1000,2000')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  return list.length > 0 ? list : [100, 500, 1000, 2000];
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return sxx === 0 ? undefined : points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

async function measureSize(ctx, size, token) {
  const settleSeconds = env('BENCH_FLEET_SETTLE_SECONDS', 60);
  const idleSeconds = env('BENCH_FLEET_IDLE_SECONDS', 30);
  const listRate = env('BENCH_FLEET_LIST_RATE', 5);
  const listSeconds = env('BENCH_FLEET_LIST_SECONDS', 20);
  const runs = env('BENCH_FLEET_SIZE_RUNS', 2);
  const followAfterSeconds = env('BENCH_FLEET_FOLLOW_AFTER_SECONDS', 60);
  const followSeconds = env('BENCH_FLEET_FOLLOW_SECONDS', 30);
  const members = Math.min(MAX_RUN_MEMBERS, size);
  ctx.log(`fleetSize: ${size} appliances (one simulator process, ${LATENCY_MS} ms each)`);
  const sims = await startSimulatorFleet(ctx, {
    count: size,
    latencyMs: LATENCY_MS,
    jobDurationMs: 600_000,
    // Each appliance backs up to a target of its own, as separate vCenters do: the run measures fleet.concurrency,
    // not fleet.perTargetConcurrency (with one shared target, 4 members started and the rest answered TARGET_BUSY).
    targets: size,
    name: `fleet-size-${size}-simulators`,
  });
  let gateway;
  try {
    const appliances = sims.urls.map((url, i) => ({
      id: `vc-${String(i + 1).padStart(4, '0')}`,
      url,
      tags: i < members ? ['bench', RUN_TAG] : ['bench'],
    }));
    gateway = await startGateway(ctx, {
      name: `gateway-fleet-${size}`,
      appliances,
      extraConfig: {
        metrics: { bearerToken: METRICS_TOKEN },
        fleet: {
          concurrency: CONCURRENCY,
          maxAppliances: Math.max(members, 500),
          // BENCH_FLEET_BACKGROUND_PROBES=false: GET /appliances probes stale status while its caller waits (the
          // gateway's behaviour before the background schedule), for a before/after in one build.
          ...(process.env.BENCH_FLEET_BACKGROUND_PROBES === 'false' && { backgroundProbes: false }),
        },
      },
    });
    const readyMs = gateway.readyMs;
    // CPU the gateway used to get ready (read just after): on a machine other processes load, the wall time to ready
    // stretches with them, its own CPU does not.
    const cpuMsToReady = cpuMicros(gateway.pid) / 1000;
    const rssAfterStart = gateway.rssAfterStart;
    ctx.log(`  ready in ${fmt(readyMs)} ms (${fmt(cpuMsToReady)} ms of CPU), RSS ${fmt(rssAfterStart / 1e6, 1)} MB`);

    // The start-up read of every appliance's job list (BackupFreshness, a login and a list each, fleet.concurrency at
    // a time) is not what idling costs: it is waited for (every appliance's `backup.checkedAt` set, polled every
    // second) and reported on its own. Without this, the 2,000-appliance idle window measured its tail (730 logins).
    const readStarted = performance.now();
    const cpuBeforeRead = cpuMicros(gateway.pid);
    let unread = size;
    while (unread > 0 && performance.now() - readStarted < settleSeconds * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { json } = await requestJson(`${gateway.url}/appliances`, { token, expect: 200 });
      unread = json.items.filter((item) => item.backup?.checkedAt == null).length;
    }
    const startupRead = {
      seconds: round((performance.now() - readStarted) / 1000, 1),
      gatewayCpuMs: round((cpuMicros(gateway.pid) - cpuBeforeRead) / 1000, 0),
      unread,
    };
    ctx.log(
      `  start-up read of the fleet's job lists: ${fmt(startupRead.seconds, 1)} s, ${fmt(startupRead.gatewayCpuMs)} ms of CPU` +
        (unread > 0 ? `, ${unread} appliances still unread` : ''),
    );

    // Let the rest of the start-up work end before measuring what idling costs.
    const settleStarted = performance.now();
    let settleCores = await coresOver(gateway.pid, 2000);
    while (settleCores > 0.1 && performance.now() - settleStarted < settleSeconds * 1000)
      settleCores = await coresOver(gateway.pid, 2000);
    const settledAfterMs = performance.now() - settleStarted;
    ctx.log(`  settled after ${fmt(settledAfterMs / 1000, 1)} s (${fmt(settleCores * 100, 1)} % of a core)`);

    await sims.resetCounters();
    const idleCores = await coresOver(gateway.pid, idleSeconds * 1000);
    const idleUpstream = (await sims.stats()).total;
    const rssAfterIdle = rssBytes(gateway.pid);
    ctx.log(
      `  idle ${idleSeconds} s: ${fmt(idleCores * 100, 2)} % of a core, ${idleUpstream.requests} upstream requests`,
    );

    await sims.resetCounters();
    const list = await runPaced({
      url: `${gateway.url}/appliances`,
      headers: { authorization: `Bearer ${token}` },
      rate: listRate,
      durationSec: listSeconds,
      maxInFlight: 50,
      cpuPids: { gateway: gateway.pid },
    });
    const listUpstream = (await sims.stats()).total;
    const sample = await requestJson(`${gateway.url}/appliances`, { token, expect: 200 });
    const listStatuses = countBy(sample.json.items.map((item) => item.status));
    ctx.log(
      `  GET /appliances ×${list.requests}: p50 ${fmt(list.p50)} ms, p99 ${fmt(list.p99)} ms, ${fmt(list.cpuPerRequest.gateway / 1000, 1)} ms CPU each; statuses ${countsText(listStatuses)}`,
    );

    const waves = Math.ceil(members / CONCURRENCY);
    const idealMs = waves * LATENCY_MS;
    const fleetRuns = [];
    for (let i = 0; i < runs; i++) {
      await sims.finishJobs();
      await sims.resetCounters();
      const cpuBefore = { gateway: cpuMicros(gateway.pid), simulators: cpuMicros(sims.pid) };
      const answer = await requestJson(`${gateway.url}/backups/runs`, {
        method: 'POST',
        token,
        body: { schedule: SCHEDULE, tags: [RUN_TAG], comment: 'bench fleet size' },
        timeoutMs: 300_000,
      });
      if (answer.status !== 207)
        throw new Error(`fleet run over ${members}: ${answer.status} ${JSON.stringify(answer.json).slice(0, 300)}`);
      const { total } = await sims.stats();
      fleetRuns.push({
        wallMs: answer.ms,
        // CPU per member: the gateway's, and the simulators' (same CPU as the gateway when pinned).
        gatewayCpuMsPerMember: round((cpuMicros(gateway.pid) - cpuBefore.gateway) / 1000 / members, 3),
        simulatorsCpuMsPerMember: round((cpuMicros(sims.pid) - cpuBefore.simulators) / 1000 / members, 3),
        statuses: countBy(answer.json.results.map((r) => r.status)),
        logins: total.logins,
        upstreamRequests: total.requests,
      });
      ctx.log(
        `  fleet run over ${members}: ${fmt(answer.ms)} ms (ideal ${idealMs} ms), ${countsText(fleetRuns[i].statuses)}, ${total.logins} logins, CPU per member: gateway ${fleetRuns[i].gatewayCpuMsPerMember} ms, simulators ${fleetRuns[i].simulatorsCpuMsPerMember} ms`,
      );
    }
    const runWallMs = median(fleetRuns.map((r) => r.wallMs));
    // One Prometheus scrape after the runs, when every appliance has been probed and half of them run: its size
    // grows with the fleet (series per appliance), and serialising it holds the event loop.
    const { status, text, ...scrape } = await scrapeMetrics(gateway.url, METRICS_TOKEN);
    if (status !== 200) throw new Error(`GET /metrics: ${status} ${text.slice(0, 200)}`);
    const metrics = { ...scrape, ms: round(scrape.ms, 1) };
    ctx.log(`  /metrics: ${mbOf(metrics.bytes)} MB, ${metrics.lines} lines, ${fmt(metrics.ms)} ms`);
    const rssAfterLoad = rssBytes(gateway.pid);

    // The last run's backups go on (600 s at the simulators): what following them costs once they have run a while,
    // as a fleet backup of minutes does most of its time (the reads' gap has grown to its longest by then).
    await new Promise((resolve) => setTimeout(resolve, followAfterSeconds * 1000));
    await sims.resetCounters();
    const followCores = await coresOver(gateway.pid, followSeconds * 1000);
    const followUpstream = (await sims.stats()).total;
    const following = {
      afterSeconds: followAfterSeconds,
      seconds: followSeconds,
      runningBackups: members,
      coreShare: round(followCores, 4),
      jobReadsPerSecond: round(followUpstream.jobGets / followSeconds, 1),
      upstreamRequestsPerSecond: round(followUpstream.requests / followSeconds, 1),
    };
    ctx.log(
      `  following ${members} running backups (${followAfterSeconds}–${followAfterSeconds + followSeconds} s after the run): ${fmt(followCores * 100, 2)} % of a core, ${fmt(following.jobReadsPerSecond, 1)} job reads/s, ${fmt(following.upstreamRequestsPerSecond, 1)} upstream requests/s`,
    );
    return {
      appliances: size,
      readyMs: round(readyMs, 1),
      cpuMsToReady: round(cpuMsToReady, 0),
      rssAfterStartBytes: rssAfterStart,
      rssAfterIdleBytes: rssAfterIdle,
      rssAfterLoadBytes: rssAfterLoad,
      settledAfterSeconds: round(settledAfterMs / 1000, 1),
      startupRead,
      metrics,
      idle: {
        seconds: idleSeconds,
        coreShare: round(idleCores, 4),
        upstreamRequests: idleUpstream.requests,
        upstreamRequestsPerSecond: round(idleUpstream.requests / idleSeconds, 1),
        logins: idleUpstream.logins,
      },
      list: {
        rate: listRate,
        seconds: listSeconds,
        requests: list.requests,
        ok: list.ok,
        statuses: list.statuses,
        errors: list.errors,
        p50: round(list.p50, 2),
        p99: round(list.p99, 2),
        max: round(list.max, 2),
        cpuMsPerRequest: round(list.cpuPerRequest.gateway / 1000, 2),
        upstreamRequests: listUpstream.requests,
        applianceStatuses: listStatuses,
        bytes: JSON.stringify(sample.json).length,
      },
      fleetRun: {
        members,
        concurrency: CONCURRENCY,
        latencyMs: LATENCY_MS,
        idealMs,
        wallMs: round(runWallMs, 1),
        wallOverIdeal: round(runWallMs / idealMs, 3),
        allAccepted: fleetRuns.every((r) => r.statuses[202] === members),
        runs: fleetRuns,
      },
      following,
    };
  } finally {
    await gateway?.stop({ graceMs: 20_000 });
    await sims.stop();
  }
}

export async function fleetSize(ctx) {
  const sizes = fleetSizes();
  const token = await ctx.idp.token({ scope: 'backups:read backups:run', expiresInSeconds: 3 * 3600 });
  const results = [];
  for (const size of sizes) results.push(await measureSize(ctx, size, token));
  const perAppliance = slope(results.map((r) => ({ x: r.appliances, y: r.rssAfterStartBytes })));
  const result = {
    sizes: results,
    latencyMs: LATENCY_MS,
    concurrency: CONCURRENCY,
    rssPerApplianceBytes: perAppliance === undefined ? undefined : Math.round(perAppliance),
  };
  const scenario = 'fleet size: appliances configured (simulated, 50 ms each)';
  const mb = (b) => fmt(b / 1e6, 1);
  const rows = results.map((r) => ({
    scenario,
    target: `${r.appliances} appliances`,
    notes:
      `ready ${fmt(r.readyMs)} ms (CPU ${fmt(r.cpuMsToReady)} ms), RSS ${mb(r.rssAfterStartBytes)} MB (after load ${mb(r.rssAfterLoadBytes)}); ` +
      `start-up read of every job list ${fmt(r.startupRead.seconds, 1)} s (${fmt(r.startupRead.gatewayCpuMs / r.appliances, 2)} ms CPU per appliance); ` +
      `idle ${fmt(r.idle.coreShare * 100, 2)} % of a core (${fmt(r.idle.upstreamRequestsPerSecond, 1)} upstream req/s); ` +
      `GET /appliances p50 ${fmt(r.list.p50)} / p99 ${fmt(r.list.p99)} ms (${fmt(r.list.cpuMsPerRequest, 1)} ms CPU); ` +
      `fleet run over ${r.fleetRun.members}: ${fmt(r.fleetRun.wallMs)} ms vs ideal ${r.fleetRun.idealMs} ms, ${fmtRatio(r.fleetRun.wallOverIdeal)}; ` +
      `/metrics ${mbOf(r.metrics.bytes)} MB (${fmt(r.metrics.lines)} lines) in ${fmt(r.metrics.ms)} ms; ` +
      `following its ${r.following.runningBackups} backups ${fmt(r.following.coreShare * 100, 2)} % of a core (${fmt(r.following.jobReadsPerSecond, 1)} job reads/s)`,
  }));
  rows.push({
    scenario,
    target: 'RSS per appliance',
    notes: `${fmt((perAppliance ?? Number.NaN) / 1024, 1)} KB (slope of RSS after start over the sizes)`,
  });
  return { result, rows };
}

// Scenario 4: watchers. 200 concurrent pollers of one running job for 10 s (BENCH_WATCHERS_SECONDS); the
// measure is the upstream's job-status requests (goal: at most one per poll interval, however many watchers).
// One ApplianceSimulator whose job runs for an hour, a gateway on it with jobs.pollIntervalMs 1000, one run to
// start the job, then autocannon with 200 connections on GET .../jobs/{jobId} (a backups:read token). The
// simulator's `jobGets` counter (its only job is this one) is read before and after the window.
// bench/check.mjs reads result.upstreamRequestsPerPollInterval.
import { noteOtherLoad } from '../lib/compare.mjs';
import { requestJson } from '../lib/http.mjs';
import { runLoad } from '../lib/load.mjs';
import { withSimulatedFleet } from '../lib/servers.mjs';
import { fmt } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const WATCHERS = 200;
const POLL_INTERVAL_MS = 1000;

export async function watchers(ctx) {
  const { watchersSeconds, warmupSec } = ctx.opts;
  ctx.log(`watchers: ${WATCHERS} pollers of one running job for ${watchersSeconds} s`);
  const fleet = {
    name: 'gateway-watchers',
    count: 1,
    jobDurationMs: 3_600_000, // still running when the window ends
    extraConfig: { jobs: { pollIntervalMs: POLL_INTERVAL_MS } },
  };
  return withSimulatedFleet(ctx, fleet, async ({ sims, gateway, appliances }) => {
    const appliance = appliances[0].id;
    const run = await requestJson(`${gateway.url}/appliances/${appliance}/backups/schedules/${SCHEDULE}/run`, {
      method: 'POST',
      token: ctx.token,
      body: { comment: 'bench watchers' },
      expect: 202,
    });
    const jobId = run.json.job.id;
    const readToken = await ctx.idp.token({ scope: 'backups:read', expiresInSeconds: 3600 });
    const poll = {
      url: `${gateway.url}/appliances/${appliance}/backups/jobs/${jobId}`,
      headers: { authorization: `Bearer ${readToken}` },
      expectStatus: 200,
      connections: WATCHERS,
    };
    await runLoad({ ...poll, durationSec: warmupSec });
    const jobGets = async () => (await sims.stats()).appliances[0].jobGets;
    const before = await jobGets();
    const load = await runLoad({
      ...poll,
      durationSec: watchersSeconds,
      cpuPids: { gateway: gateway.pid, upstream: sims.pid },
    });
    const upstreamRequests = (await jobGets()) - before;
    noteOtherLoad(load.otherCores);
    const end = await requestJson(poll.url, { token: readToken, expect: 200 });
    if (['SUCCEEDED', 'FAILED'].includes(end.json.job.state)) {
      throw new Error(`the job ended during the window (${end.json.job.state}): nothing left to poll`);
    }

    const intervals = (load.seconds * 1000) / POLL_INTERVAL_MS;
    const result = {
      watchers: WATCHERS,
      seconds: load.seconds,
      pollIntervalMs: POLL_INTERVAL_MS,
      jobId,
      jobStateAtEnd: end.json.job.state,
      answers: load.responses,
      statuses: load.statuses,
      errors: load.errors,
      rps: load.rps,
      p50: load.p50,
      p99: load.p99,
      gatewayCpuPerAnswer: load.cpuPerRequest.gateway,
      otherCores: load.otherCores,
      upstreamRequests,
      upstreamRequestsPerSecond: upstreamRequests / load.seconds,
      // The window may hold one poll more than whole intervals (one at each end): the first is not counted.
      upstreamRequestsPerPollInterval: Math.max(0, upstreamRequests - 1) / intervals,
      upstreamRequestsPerAnswer: load.responses ? upstreamRequests / load.responses : undefined,
    };
    ctx.log(
      `  ${fmt(load.rps)} answers/s, p50 ${load.p50?.toFixed(2)} ms, p99 ${load.p99?.toFixed(2)} ms; upstream status requests ${upstreamRequests} in ${load.seconds.toFixed(1)} s${load.unexpected ? `  UNEXPECTED ${JSON.stringify(load.statuses)}` : ''}`,
    );
    const rows = [
      {
        scenario: `watchers: ${WATCHERS} pollers of one job, ${fmt(load.seconds)} s`,
        target: 'gateway (log warn)',
        rps: fmt(load.rps),
        p50: fmt(load.p50, 2),
        p99: fmt(load.p99, 2),
        serverCpu: fmt(result.gatewayCpuPerAnswer),
        upstreamCpu: fmt(load.cpuPerRequest.upstream),
        notes: `upstream status requests: ${upstreamRequests} (${fmt(result.upstreamRequestsPerSecond, 2)}/s, ${fmt(result.upstreamRequestsPerPollInterval, 2)} per ${POLL_INTERVAL_MS} ms poll interval, the boundary poll not counted); forwarding every poll would send ${fmt(load.rps)}/s${load.unexpected || load.errors ? `; UNEXPECTED answers ${load.unexpected}, errors ${load.errors}` : ''}`,
      },
    ];
    return { result, rows };
  });
}

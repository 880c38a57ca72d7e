// Scenario 5: fleet. POST /backups/runs {schedule: 'default', tags: ['bench']} across 50 simulated appliances
// answering every request 50 ms late (the simulators' latency fault, logins included), fleet.concurrency 8:
// wall time against the ideal ceil(50 / 8) × 50 ms = 350 ms. The first run logs in to every appliance
// (login + run: ideal 700 ms) and is reported apart as cold; then BENCH_FLEET_RUNS (5) warm runs, the median
// reported. Before each run every job is ended at the simulators, so that every appliance accepts (202), and the
// gateway is given three of its job poll intervals to see them end: until it does, it counts them as running on
// their backup target, and refuses the next run's members with TARGET_BUSY (fleet.perTargetConcurrency).
// bench/check.mjs reads result.warm.wallOverIdeal.
import { countBy, countsText, requestJson } from '../lib/http.mjs';
import { withSimulatedFleet } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';
import { fmt, fmtRatio } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const APPLIANCES = 50;
const LATENCY_MS = 50;
/** jobs.pollIntervalMs: how soon the gateway sees a job end and frees its slot on the target. */
const POLL_MS = 100;
const CONCURRENCY = 8;

export async function fleet(ctx) {
  const warmRuns = ctx.opts.fleetRuns;
  ctx.log(`fleet: runs across ${APPLIANCES} appliances, ${LATENCY_MS} ms each, concurrency ${CONCURRENCY}`);
  const setup = {
    name: 'gateway-fleet',
    count: APPLIANCES,
    latencyMs: LATENCY_MS,
    jobDurationMs: 60_000,
    // Every simulator reports the same backup location: without room for all of them on that one target, all but
    // fleet.perTargetConcurrency members would be TARGET_BUSY results (this scenario measures fleet.concurrency).
    extraConfig: { fleet: { concurrency: CONCURRENCY, perTargetConcurrency: APPLIANCES }, jobs: { pollIntervalMs: POLL_MS } },
  };
  const waves = Math.ceil(APPLIANCES / CONCURRENCY);
  const idealMs = waves * LATENCY_MS;
  return withSimulatedFleet(ctx, setup, async ({ sims, gateway }) => {
    const token = await ctx.idp.token({ scope: 'backups:run', expiresInSeconds: 3600 });
    const fleetRun = async () => {
      await sims.finishJobs();
      await new Promise((resolve) => setTimeout(resolve, 3 * POLL_MS));
      await sims.resetCounters();
      const answer = await requestJson(`${gateway.url}/backups/runs`, {
        method: 'POST',
        token,
        body: { schedule: SCHEDULE, tags: ['bench'], comment: 'bench fleet' },
        expect: 207,
      });
      const { total } = await sims.stats();
      return {
        wallMs: answer.ms,
        statuses: countBy(answer.json.results.map((r) => r.status)),
        logins: total.logins,
        upstreamRequests: total.requests,
        runsAtAppliances: total.runs,
      };
    };
    const cold = { ...(await fleetRun()), idealMs: 2 * idealMs };
    cold.wallOverIdeal = cold.wallMs / cold.idealMs;
    ctx.log(`  cold (logins first): ${cold.wallMs.toFixed(0)} ms, ${countsText(cold.statuses)}, ${cold.logins} logins`);
    const runs = [];
    for (let i = 0; i < warmRuns; i++) {
      runs.push(await fleetRun());
      ctx.log(`  warm ${i + 1}/${warmRuns}: ${runs[i].wallMs.toFixed(0)} ms, ${countsText(runs[i].statuses)}`);
    }
    const wallMs = median(runs.map((r) => r.wallMs));
    const statuses = {};
    for (const run of runs)
      for (const [status, n] of Object.entries(run.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
    const warm = {
      runs: runs.length,
      wallMs,
      wallMsMin: Math.min(...runs.map((r) => r.wallMs)),
      wallMsMax: Math.max(...runs.map((r) => r.wallMs)),
      idealMs,
      wallOverIdeal: wallMs / idealMs,
      statuses,
      logins: runs.reduce((n, r) => n + r.logins, 0),
      upstreamRequestsPerRun: median(runs.map((r) => r.upstreamRequests)),
      rounds: runs,
    };
    const allAccepted = (s, n) => Object.keys(s).length === 1 && s[202] === n;
    const result = {
      appliances: APPLIANCES,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      idealMs,
      cold,
      warm,
      allAccepted: allAccepted(cold.statuses, APPLIANCES) && allAccepted(statuses, APPLIANCES * runs.length),
    };
    const scenario = `fleet run: ${APPLIANCES} appliances, ${LATENCY_MS} ms each, concurrency ${CONCURRENCY}`;
    const rows = [
      {
        scenario,
        target: 'cold: first run, logins',
        notes: `wall ${fmt(cold.wallMs)} ms vs ideal ${fmt(cold.idealMs)} ms (${waves} waves × login + run): ${fmtRatio(cold.wallOverIdeal)}; answers ${countsText(cold.statuses)}; logins ${cold.logins}`,
      },
      {
        scenario,
        target: `warm: median of ${runs.length} runs`,
        notes: `wall ${fmt(wallMs)} ms (${fmt(warm.wallMsMin)}–${fmt(warm.wallMsMax)}) vs ideal ${fmt(idealMs)} ms (${waves} waves × ${LATENCY_MS} ms): ${fmtRatio(warm.wallOverIdeal)}; answers ${countsText(statuses)}; upstream requests per run ${fmt(warm.upstreamRequestsPerRun)}, logins ${warm.logins}`,
      },
    ];
    return { result, rows };
  });
}

// Scenario 1c: latency at a fixed moderate rate (500 requests/s by default), gateway against
// direct, for the run (POST) and the job status (GET): what the gateway adds to p50 and p99.
// Measured with an open-loop paced generator (lib/paced.mjs: one request every 2 ms); autocannon's
// overallRate is also run once for the POST, for reference: it sends bursts (see lib/paced.mjs).
// With BENCH_BASELINE_ROOT the earlier build is paced in the same rounds, so its added p50/p99 stand beside today's.
import { noteOtherLoad } from '../lib/compare.mjs';
import { runLoad } from '../lib/load.mjs';
import { runPaced } from '../lib/paced.mjs';
import { median } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function fixedRate(ctx) {
  const { rate, rateSeconds, rateRounds } = ctx.opts;
  const result = { rate, method: 'open-loop paced (bench/lib/paced.mjs)', kinds: {} };
  const rows = [];
  for (const kind of ['run', 'job']) {
    const label = kind === 'run' ? 'POST run' : 'GET job';
    ctx.log(`fixed rate: ${rate} req/s, ${label}`);
    const targets = targetsFor(ctx, kind, ['direct', 'gateway', 'gatewayBaseline']);
    const rounds = Object.fromEntries(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rateRounds; round++) {
      for (const target of round % 2 ? [...targets].reverse() : targets) {
        const r = await runPaced({ ...target, rate, durationSec: rateSeconds, cpuPids: target.pids });
        rounds[target.name].push(r);
        noteOtherLoad(r.otherCores);
        ctx.log(
          `  round ${round + 1}/${rateRounds} ${target.name.padEnd(8)} ${r.achievedRate.toFixed(0)} req/s sent  p50 ${r.p50?.toFixed(3)} ms  p99 ${r.p99?.toFixed(3)} ms  other load ${r.otherCores?.toFixed(2)} cores${r.unexpected ? `  UNEXPECTED ${JSON.stringify(r.statuses)} errors ${r.errors} skipped ${r.skipped}` : ''}`,
        );
      }
    }
    const med = (name, key) => median(rounds[name].map((r) => r[key]));
    const added = (key, name = 'gateway') => median(rounds[name].map((g, i) => g[key] - rounds.direct[i][key]));
    const entry = {
      direct: {
        p50: med('direct', 'p50'),
        p99: med('direct', 'p99'),
        unexpected: rounds.direct.reduce((n, r) => n + r.unexpected, 0),
      },
      gateway: {
        p50: med('gateway', 'p50'),
        p99: med('gateway', 'p99'),
        unexpected: rounds.gateway.reduce((n, r) => n + r.unexpected, 0),
      },
      addedP50: added('p50'),
      addedP99: added('p99'),
      baseline: rounds.gatewayBaseline
        ? {
            p50: med('gatewayBaseline', 'p50'),
            p99: med('gatewayBaseline', 'p99'),
            addedP50: added('p50', 'gatewayBaseline'),
            addedP99: added('p99', 'gatewayBaseline'),
            unexpected: rounds.gatewayBaseline.reduce((n, r) => n + r.unexpected, 0),
          }
        : ctx.baseline,
      rounds: Object.fromEntries(
        Object.entries(rounds).map(([name, rs]) => [
          name,
          rs.map((r) => ({
            achievedRate: r.achievedRate,
            p50: r.p50,
            p90: r.p90,
            p99: r.p99,
            max: r.max,
            statuses: r.statuses,
            errors: r.errors,
            skipped: r.skipped,
            otherCores: r.otherCores,
          })),
        ]),
      ),
    };
    result.kinds[kind] = entry;
    const scenario = `${rate} req/s ${label}`;
    rows.push(
      {
        scenario,
        target: 'direct to upstream',
        p50: fmt(entry.direct.p50, 2),
        p99: fmt(entry.direct.p99, 2),
        notes: 'open-loop, median of rounds',
      },
      {
        scenario,
        target: 'gateway (log warn)',
        p50: fmt(entry.gateway.p50, 2),
        p99: fmt(entry.gateway.p99, 2),
        notes: `added over direct: p50 +${fmt(entry.addedP50, 2)} ms, p99 +${fmt(entry.addedP99, 2)} ms`,
      },
    );
    if (rounds.gatewayBaseline)
      rows.push({
        scenario,
        target: `baseline build ${ctx.baseline.commit?.slice(0, 7)}`,
        p50: fmt(entry.baseline.p50, 2),
        p99: fmt(entry.baseline.p99, 2),
        notes: `added over direct: p50 +${fmt(entry.baseline.addedP50, 2)} ms, p99 +${fmt(entry.baseline.addedP99, 2)} ms`,
      });
  }

  // For reference only: autocannon's overallRate (bursts; see lib/paced.mjs), POST, one round each.
  ctx.log(`fixed rate: autocannon overallRate ${rate}, ${ctx.opts.burstConnections} connections (reference)`);
  const reference = {};
  for (const target of targetsFor(ctx, 'run', ['direct', 'gateway'])) {
    const r = await runLoad({
      ...target,
      durationSec: rateSeconds,
      connections: ctx.opts.burstConnections,
      overallRate: rate,
    });
    reference[target.name] = { rps: r.rps, p50: r.p50, p99: r.p99 };
    ctx.log(
      `  ${target.name.padEnd(8)} ${r.rps.toFixed(0)} req/s  p50 ${r.p50?.toFixed(3)} ms  p99 ${r.p99?.toFixed(3)} ms`,
    );
  }
  reference.addedP50 = reference.gateway.p50 - reference.direct.p50;
  reference.addedP99 = reference.gateway.p99 - reference.direct.p99;
  result.autocannonOverallRate = { connections: ctx.opts.burstConnections, ...reference };
  rows.push({
    scenario: `${rate} req/s POST run (autocannon overallRate, ${ctx.opts.burstConnections} conns, bursts)`,
    target: 'gateway vs direct',
    p50: fmt(reference.gateway.p50, 2),
    p99: fmt(reference.gateway.p99, 2),
    notes: `direct p50 ${fmt(reference.direct.p50, 2)} / p99 ${fmt(reference.direct.p99, 2)} ms; added p50 +${fmt(reference.addedP50, 2)}, p99 +${fmt(reference.addedP99, 2)} ms (reference only)`,
  });
  return { result, rows };
}

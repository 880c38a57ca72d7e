// Side-by-side comparison of several targets serving the same kind of request: a warm-up per
// target, then `rounds` rounds in which every target is loaded in turn (the order rotates each
// round, so no target always runs first or last, and runs backwards every other round, so that two neighbours in
// the list are measured in both orders: on a shared machine the target just before another one is not noise-free),
// and medians over rounds.
import { runLoad } from './load.mjs';
import { median, ratio } from './stats.mjs';

/** The highest load of other processes seen in any measured window of this run, in cores. */
export const otherLoad = { maxCores: 0 };
export function noteOtherLoad(cores) {
  if (typeof cores === 'number' && cores > otherLoad.maxCores) otherLoad.maxCores = cores;
}

/**
 * targets: [{ name, url, method, headers, body, pids: { role: pid }, server: 'role whose CPU is the server's' }]
 * (roles `upstream` and `database` give upstreamCpu and databaseCpu: see cpuMark for a group of processes);
 * upstreamRequests: optional async () => the upstream's request counter (gives upstreamPerResponse).
 * Returns { targets: { name: { warmupResponses, rounds: [...], median: {...} } }, pairedRatio(a, b, metric) }.
 */
export async function compareTargets(targets, { rounds, durationSec, warmupSec, connections, log, upstreamRequests }) {
  const results = Object.fromEntries(targets.map((t) => [t.name, { rounds: [] }]));
  for (const target of targets) {
    log(`  warm-up ${target.name} (${warmupSec} s)`);
    const warm = await runLoad({ ...target, durationSec: warmupSec, connections });
    results[target.name].warmupResponses = warm.responses;
    if (warm.unexpected > 0 || warm.ok === 0) {
      throw new Error(
        `${target.name}: warm-up got unexpected answers ${JSON.stringify(warm.statuses)} (errors ${warm.errors})`,
      );
    }
  }
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    if (round % 2) order.reverse();
    for (const target of order) {
      const before = upstreamRequests ? await upstreamRequests() : undefined;
      const result = await runLoad({ ...target, durationSec, connections, cpuPids: target.pids });
      if (before !== undefined) {
        // minus 1: the stats request itself
        result.upstreamPerResponse = result.responses
          ? ((await upstreamRequests()) - before - 1) / result.responses
          : undefined;
      }
      result.serverCpu = result.cpuPerRequest[target.server];
      result.upstreamCpu = result.cpuPerRequest.upstream;
      result.databaseCpu = result.cpuPerRequest.database;
      results[target.name].rounds.push(result);
      noteOtherLoad(result.otherCores);
      log(
        `  round ${round + 1}/${rounds} ${target.name.padEnd(16)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50?.toFixed(2)} ms  p99 ${result.p99?.toFixed(2)} ms  server ${result.serverCpu?.toFixed(0)} µs/req  upstream ${result.upstreamCpu?.toFixed(0)} µs/req  other load ${result.otherCores?.toFixed(2)} cores${result.unexpected ? `  UNEXPECTED ${JSON.stringify(result.statuses)}` : ''}`,
      );
    }
  }
  for (const name of Object.keys(results)) {
    const rs = results[name].rounds;
    const pick = (key) => median(rs.map((r) => r[key]));
    results[name].median = {
      rps: pick('rps'),
      p50: pick('p50'),
      p99: pick('p99'),
      serverCpu: pick('serverCpu'),
      upstreamCpu: pick('upstreamCpu'),
      databaseCpu: pick('databaseCpu'),
      upstreamPerResponse: pick('upstreamPerResponse'),
      unexpected: rs.reduce((n, r) => n + r.unexpected, 0),
      errors: rs.reduce((n, r) => n + r.errors, 0),
    };
  }
  /** The per-round ratios a/b of `metric` (rounds are paired: same round, adjacent in time), or undefined. */
  const roundRatios = (a, b, metric) =>
    results[a] && results[b]
      ? results[a].rounds.map((r, i) => ratio(r[metric], results[b].rounds[i]?.[metric]))
      : undefined;
  /** Median over rounds of the per-round ratio a/b of `metric`. */
  const pairedRatio = (a, b, metric) => {
    const ratios = roundRatios(a, b, metric);
    return ratios && median(ratios);
  };
  return { targets: results, pairedRatio, roundRatios };
}

/** A compact copy of a comparison for the results file (rounds without the bulky fields). */
export function compactComparison(comparison) {
  const out = {};
  for (const [name, { rounds, median: m }] of Object.entries(comparison.targets)) {
    out[name] = {
      median: m,
      rounds: rounds.map((r) => ({
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        serverCpu: r.serverCpu,
        upstreamCpu: r.upstreamCpu,
        databaseCpu: r.databaseCpu,
        otherCores: r.otherCores,
        upstreamPerResponse: r.upstreamPerResponse,
        responses: r.responses,
        statuses: r.statuses,
        errors: r.errors,
      })),
    };
  }
  return out;
}

/** The gateway's paired ratios to the floor, nginx and direct (undefined for a target the comparison lacks). */
export function gatewayRatios(pairedRatio) {
  return {
    rpsGatewayOverFloor: pairedRatio('gateway', 'floor', 'rps'),
    rpsGatewayOverNginx: pairedRatio('gateway', 'nginx', 'rps'),
    rpsGatewayOverDirect: pairedRatio('gateway', 'direct', 'rps'),
    cpuGatewayOverFloor: pairedRatio('gateway', 'floor', 'serverCpu'),
    cpuGatewayOverNginx: pairedRatio('gateway', 'nginx', 'serverCpu'),
  };
}

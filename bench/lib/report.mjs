// Table rows and columns for the run's single table.
import { fmt, fmtRatio as x } from './table.mjs';

export const COLUMNS = [
  { key: 'scenario', title: 'scenario' },
  { key: 'target', title: 'target' },
  { key: 'rps', title: 'req/s', align: 'right' },
  { key: 'p50', title: 'p50 ms', align: 'right' },
  { key: 'p99', title: 'p99 ms', align: 'right' },
  { key: 'serverCpu', title: 'server CPU µs/req', align: 'right' },
  { key: 'upstreamCpu', title: 'upstream CPU µs/req', align: 'right' },
  { key: 'notes', title: 'notes (ratios: medians of per-round ratios)' },
];

/**
 * Rows of a throughput comparison (compareTargets), one per target. `extraNotes`: { targetName: [note, ...] },
 * put first in that target's notes. A target's `notForwarded` says why it answers without the upstream, if it does.
 */
export function throughputRows(scenario, comparison, targets, ratios, extraNotes = {}) {
  return targets.map((target) => {
    const m = comparison.targets[target.name].median;
    const notes = [...(extraNotes[target.name] ?? [])];
    if (target.name === 'gateway') {
      if (ratios.rpsGatewayOverFloor !== undefined)
        notes.push(`vs floor: ${x(ratios.rpsGatewayOverFloor)} req/s, ${x(ratios.cpuGatewayOverFloor)} CPU`);
      if (ratios.rpsGatewayOverNginx !== undefined)
        notes.push(`vs nginx: ${x(ratios.rpsGatewayOverNginx)} req/s, ${x(ratios.cpuGatewayOverNginx)} CPU`);
      if (ratios.rpsGatewayOverDirect !== undefined) notes.push(`vs direct: ${x(ratios.rpsGatewayOverDirect)} req/s`);
    }
    if (target.name === 'gatewayInfo')
      notes.push(`vs log warn: ${x(ratios.rpsLogInfoOverWarn)} req/s, ${x(ratios.cpuLogInfoOverWarn)} CPU`);
    if (typeof m.upstreamPerResponse === 'number' && Math.abs(m.upstreamPerResponse - 1) > 0.15) {
      notes.push(
        `upstream requests per answer: ${m.upstreamPerResponse.toFixed(m.upstreamPerResponse < 0.01 ? 4 : 2)}${m.upstreamPerResponse < 0.5 ? ` (${target.notForwarded ?? 'answered from the gateway’s shared job tracker, not forwarded'})` : ''}`,
      );
    }
    if (m.unexpected || m.errors) notes.push(`UNEXPECTED answers ${m.unexpected}, errors ${m.errors}`);
    return {
      scenario,
      target: target.label,
      rps: fmt(m.rps),
      p50: fmt(m.p50, 2),
      p99: fmt(m.p99, 2),
      serverCpu: target.server === 'upstream' ? '' : fmt(m.serverCpu),
      upstreamCpu: fmt(m.upstreamCpu),
      notes: notes.join('; '),
    };
  });
}

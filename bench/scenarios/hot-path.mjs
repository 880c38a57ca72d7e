// Scenario 1: the hot path, POST /appliances/{id}/backups/schedules/{id}/run with an RS256 JWT,
// through the gateway, straight to the fast upstream, through nginx and through the Node floor,
// plus the gateway with request logs on (level info) to show what logging costs.
import { compactComparison, compareTargets, gatewayRatios } from '../lib/compare.mjs';
import { rssBytes } from '../lib/cpu.mjs';
import { throughputRows } from '../lib/report.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function hotPath(ctx) {
  ctx.log('hot path: POST .../run');
  const targets = targetsFor(ctx, 'run', ['direct', 'nginx', 'floor', 'gateway', 'gatewayInfo']);
  const comparison = await compareTargets(targets, {
    ...ctx.opts,
    log: ctx.log,
    upstreamRequests: async () => (await ctx.upstream.stats()).requests,
  });
  ctx.gatewayRssAfterHotPath = rssBytes(ctx.gateway.pid);
  const r = comparison.pairedRatio;
  const result = {
    request: 'POST /appliances/{applianceId}/backups/schedules/{scheduleId}/run, RS256 JWT, body {"comment":"bench"}',
    nginx: ctx.nginx ? ctx.nginxVersion : { skipped: ctx.nginxSkipped },
    targets: compactComparison(comparison),
    ratios: {
      ...gatewayRatios(r),
      rpsLogInfoOverWarn: r('gatewayInfo', 'gateway', 'rps'),
      cpuLogInfoOverWarn: r('gatewayInfo', 'gateway', 'serverCpu'),
    },
  };
  const rows = throughputRows('hot path POST run', comparison, targets, result.ratios);
  if (!ctx.nginx)
    rows.splice(1, 0, {
      scenario: 'hot path POST run',
      target: 'nginx proxy_pass',
      notes: `skipped: ${ctx.nginxSkipped}`,
    });
  return { result, rows };
}

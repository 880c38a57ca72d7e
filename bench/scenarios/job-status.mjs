// Scenario 1b: GET /appliances/{id}/backups/jobs/{jobId} (a read: what pollers call), same
// targets as the hot path but without the info-logging gateway.
import { compactComparison, compareTargets, gatewayRatios } from '../lib/compare.mjs';
import { throughputRows } from '../lib/report.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function jobStatus(ctx) {
  ctx.log('job status: GET .../jobs/{jobId}');
  const targets = targetsFor(ctx, 'job', ['direct', 'nginx', 'floor', 'gateway']);
  const comparison = await compareTargets(targets, {
    ...ctx.opts,
    log: ctx.log,
    upstreamRequests: async () => (await ctx.upstream.stats()).requests,
  });
  const r = comparison.pairedRatio;
  const result = {
    request: 'GET /appliances/{applianceId}/backups/jobs/{jobId}, RS256 JWT',
    targets: compactComparison(comparison),
    ratios: gatewayRatios(r),
  };
  return { result, rows: throughputRows('job status GET', comparison, targets, result.ratios) };
}

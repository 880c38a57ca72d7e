// Scenario 1: the hot path, POST /appliances/{id}/backups/schedules/{id}/run with an RS256 JWT,
// through the gateway, straight to the fast upstream, through nginx and through the Node floor,
// plus the gateway with request logs on (level info) to show what logging costs, and the gateway with its
// verified-token cache off (`auth.jwt.verifiedTokenCacheSize: 0`): it verifies every token's signature, as the
// floor does, so the cost of the stack itself stays visible beside the floor. With BENCH_BASELINE_ROOT, an earlier
// build's gateway (same config, but for the sections it did not have) is one more target of the same paired rounds:
// the budget's "no more CPU per request than the earlier build" is a ratio within one run.
import { compactComparison, compareTargets, gatewayRatios } from '../lib/compare.mjs';
import { rssBytes } from '../lib/cpu.mjs';
import { throughputRows } from '../lib/report.mjs';
import { startGateway } from '../lib/servers.mjs';
import { fmtRatio } from '../lib/table.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function hotPath(ctx) {
  ctx.log('hot path: POST .../run');
  ctx.gatewayNoTokenCache = await startGateway(ctx, {
    name: 'gateway-no-token-cache',
    jwt: { verifiedTokenCacheSize: 0 },
  });
  try {
    const targets = targetsFor(ctx, 'run', [
      'direct',
      'nginx',
      'floor',
      'gateway',
      // next to the gateway: its ratio is a budget line, so the two are loaded one right after the other
      'gatewayBaseline',
      'gatewayInfo',
      'gatewayNoTokenCache',
    ]);
    const comparison = await compareTargets(targets, {
      ...ctx.opts,
      log: ctx.log,
      upstreamRequests: async () => (await ctx.upstream.stats()).requests,
    });
    ctx.gatewayRssAfterHotPath = rssBytes(ctx.gateway.pid);
    if (ctx.gatewayBaseline) ctx.baselineRssAfterHotPath = rssBytes(ctx.gatewayBaseline.pid);
    const r = comparison.pairedRatio;
    const result = {
      request: 'POST /appliances/{applianceId}/backups/schedules/{scheduleId}/run, RS256 JWT, body {"comment":"bench"}',
      nginx: ctx.nginx ? ctx.nginxVersion : { skipped: ctx.nginxSkipped },
      targets: compactComparison(comparison),
      ratios: {
        ...gatewayRatios(r),
        rpsLogInfoOverWarn: r('gatewayInfo', 'gateway', 'rps'),
        cpuLogInfoOverWarn: r('gatewayInfo', 'gateway', 'serverCpu'),
        rpsNoTokenCacheOverFloor: r('gatewayNoTokenCache', 'floor', 'rps'),
        cpuNoTokenCacheOverFloor: r('gatewayNoTokenCache', 'floor', 'serverCpu'),
        rpsNoTokenCacheOverGateway: r('gatewayNoTokenCache', 'gateway', 'rps'),
        cpuNoTokenCacheOverGateway: r('gatewayNoTokenCache', 'gateway', 'serverCpu'),
        cpuGatewayOverBaseline: r('gateway', 'gatewayBaseline', 'serverCpu'),
        p99GatewayOverBaseline: r('gateway', 'gatewayBaseline', 'p99'),
        rpsGatewayOverBaseline: r('gateway', 'gatewayBaseline', 'rps'),
      },
      // Which build the ratios to the baseline compare with, and their spread over rounds (how far to trust the median).
      baseline: ctx.gatewayBaseline
        ? {
            ...ctx.baseline,
            cpuGatewayOverBaselinePerRound: comparison.roundRatios('gateway', 'gatewayBaseline', 'serverCpu'),
          }
        : ctx.baseline,
    };
    const x = result.ratios;
    const rows = throughputRows('hot path POST run', comparison, targets, result.ratios, {
      gatewayNoTokenCache: [
        `every token verified (auth.jwt.verifiedTokenCacheSize: 0); vs floor: ${fmtRatio(x.rpsNoTokenCacheOverFloor)} req/s, ${fmtRatio(x.cpuNoTokenCacheOverFloor)} CPU; vs cache on: ${fmtRatio(x.rpsNoTokenCacheOverGateway)} req/s, ${fmtRatio(x.cpuNoTokenCacheOverGateway)} CPU`,
      ],
      gatewayBaseline: [
        `${ctx.baseline?.commit?.slice(0, 7)}; today's gateway over it: ${fmtRatio(x.cpuGatewayOverBaseline)} CPU, ${fmtRatio(x.p99GatewayOverBaseline)} p99, ${fmtRatio(x.rpsGatewayOverBaseline)} req/s`,
      ],
    });
    if (!ctx.nginx)
      rows.splice(1, 0, {
        scenario: 'hot path POST run',
        target: 'nginx proxy_pass',
        notes: `skipped: ${ctx.nginxSkipped}`,
      });
    if (!ctx.gatewayBaseline)
      rows.push({
        scenario: 'hot path POST run',
        target: 'baseline build',
        notes: `skipped: ${ctx.baseline?.skipped}`,
      });
    return { result, rows };
  } finally {
    await ctx.gatewayNoTokenCache.stop({ graceMs: 10_000 });
    delete ctx.gatewayNoTokenCache;
  }
}

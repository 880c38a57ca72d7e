// Scenario rateLimit: what rate limiting costs on the hot path (POST .../run). Three gateways started for it, alike
// but for this: one limits rates as by default, in its memory (@nestjs/throttler's storage); one keeps the counters in
// Redis (`redis.url`: one Lua script per request, INCR and PEXPIRE, so replicas share a caller's budget), on a
// redis-server the benchmark starts on a free port (without redis-server installed that row is skipped and says
// why); one has `rateLimit.enabled: false` (RateLimitGuard out of the pipeline). All three in the hot path's paired
// alternating rounds; reported as ratios to the gateway without rate limiting. (Fresh gateways, not the main one,
// which has served every earlier scenario: a heap grown by other loads would weigh on one side only.) The limits are far above anything the benchmark
// sends (lib/servers.mjs): what is measured is the bookkeeping of every request, never a refusal, and the scenario
// checks that no answer was a 429. The Redis row's database CPU is redis-server's, and the Lua calls Redis counted
// per answer show the counters really were in Redis (not in the gateway's fallback memory).
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { compactComparison, compareTargets } from '../lib/compare.mjs';
import { throughputRows } from '../lib/report.mjs';
import { startGateway, startRedis } from '../lib/servers.mjs';
import { fmtRatio } from '../lib/table.mjs';
import { targetsFor } from '../lib/targets.mjs';

const SCENARIO = 'rate limits POST run';

export async function rateLimit(ctx) {
  ctx.log('rate limits: POST .../run, in memory, in Redis, off');
  const redis = await startRedis(ctx, 'redis-rate-limit');
  if (redis.skipped) ctx.log(`  Redis row skipped: ${redis.skipped}`);
  const started = [];
  try {
    ctx.gatewayRateLimitOff = await startGateway(ctx, {
      name: 'gateway-rate-limit-off',
      extraConfig: { rateLimit: { enabled: false } },
    });
    started.push(ctx.gatewayRateLimitOff);
    ctx.gatewayRateLimitMemory = await startGateway(ctx, { name: 'gateway-rate-limit-memory' });
    started.push(ctx.gatewayRateLimitMemory);
    if (!redis.skipped) {
      ctx.gatewayRateLimitRedis = await startGateway(ctx, {
        name: 'gateway-rate-limit-redis',
        extraConfig: { redis: { url: redis.url } },
      });
      started.push(ctx.gatewayRateLimitRedis);
    }
    const targets = targetsFor(ctx, 'run', [
      'gatewayRateLimitOff',
      'gatewayRateLimitMemory',
      'gatewayRateLimitRedis',
    ]).map((target) =>
      target.name === 'gatewayRateLimitRedis' ? { ...target, pids: { ...target.pids, database: redis.pid } } : target,
    );
    const evalsBefore = redis.skipped ? undefined : await luaCalls(redis.url);
    const comparison = await compareTargets(targets, {
      ...ctx.opts,
      log: ctx.log,
      upstreamRequests: async () => (await ctx.upstream.stats()).requests,
    });
    const r = comparison.pairedRatio;
    const refused = (name) =>
      comparison.targets[name]?.rounds.reduce((n, round) => n + (round.statuses[429] ?? 0), 0) ?? 0;
    const answers = (name) =>
      comparison.targets[name].rounds.reduce(
        (n, round) => n + round.responses,
        comparison.targets[name].warmupResponses,
      );
    const result = {
      request: 'POST /appliances/{applianceId}/backups/schedules/{scheduleId}/run, RS256 JWT, body {"comment":"bench"}',
      limits: 'runsPerMinute and readsPerMinute 100,000,000 (never reached)',
      targets: compactComparison(comparison),
      memory: {
        rpsOverOff: r('gatewayRateLimitMemory', 'gatewayRateLimitOff', 'rps'),
        cpuOverOff: r('gatewayRateLimitMemory', 'gatewayRateLimitOff', 'serverCpu'),
        cpuPerRequest: comparison.targets.gatewayRateLimitMemory.median.serverCpu,
        refused429: refused('gatewayRateLimitMemory'),
      },
      redis: redis.skipped
        ? { skipped: redis.skipped }
        : {
            version: redis.version,
            rpsOverOff: r('gatewayRateLimitRedis', 'gatewayRateLimitOff', 'rps'),
            cpuOverOff: r('gatewayRateLimitRedis', 'gatewayRateLimitOff', 'serverCpu'),
            cpuPerRequest: comparison.targets.gatewayRateLimitRedis.median.serverCpu,
            redisCpuPerRequest: comparison.targets.gatewayRateLimitRedis.median.databaseCpu,
            refused429: refused('gatewayRateLimitRedis'),
            // Every answer of the Redis gateway since the count was taken, its warm-up's too.
            luaCallsPerAnswer: ((await luaCalls(redis.url)) - evalsBefore) / (answers('gatewayRateLimitRedis') || 1),
            // The gateway's one line for a Redis outage (src/redis/shared-state.ts): limits fell back to memory.
            fellBackToMemory: fs.readFileSync(ctx.gatewayRateLimitRedis.logFile, 'utf8').includes('redis unavailable'),
          },
      offCpuPerRequest: comparison.targets.gatewayRateLimitOff.median.serverCpu,
      refused429: refused('gatewayRateLimitMemory') + refused('gatewayRateLimitOff') + refused('gatewayRateLimitRedis'),
    };
    const m = result.memory;
    const notes = {
      gatewayRateLimitOff: ['rateLimit.enabled: false'],
      gatewayRateLimitMemory: [
        `vs off: ${fmtRatio(m.rpsOverOff)} req/s, ${fmtRatio(m.cpuOverOff)} CPU`,
        `429 answers: ${m.refused429}`,
      ],
    };
    if (!redis.skipped) {
      const d = result.redis;
      notes.gatewayRateLimitRedis = [
        `vs off: ${fmtRatio(d.rpsOverOff)} req/s, ${fmtRatio(d.cpuOverOff)} CPU`,
        `redis-server CPU ${d.redisCpuPerRequest?.toFixed(0)} µs/req`,
        `Lua calls per answer ${d.luaCallsPerAnswer.toFixed(2)}${d.fellBackToMemory ? ', FELL BACK TO MEMORY' : ''}`,
        `429 answers: ${d.refused429}`,
      ];
    }
    const rows = throughputRows(SCENARIO, comparison, targets, {}, notes);
    if (redis.skipped)
      rows.push({ scenario: SCENARIO, target: 'gateway, rate limit in Redis', notes: `skipped: ${redis.skipped}` });
    return { result, rows };
  } finally {
    delete ctx.gatewayRateLimitOff;
    delete ctx.gatewayRateLimitMemory;
    delete ctx.gatewayRateLimitRedis;
    for (const gateway of started) await gateway.stop({ graceMs: 10_000 });
    if (!redis.skipped) await redis.stop();
  }
}

/** Scripts Redis has run so far (EVAL and EVALSHA), from INFO commandstats. */
async function luaCalls(url) {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('commandstats');
    let calls = 0;
    for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) calls += Number(match[1]);
    return calls;
  } finally {
    client.disconnect();
  }
}

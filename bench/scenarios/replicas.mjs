// Scenario: replicas (issue 21). What sharing costs when the gateway runs as several replicas: the audit chain (and
// the Idempotency-Key claims) in one PostgreSQL, rate limits and job status in one Redis. Every run request carries
// an Idempotency-Key of its own, so each one claims its key in the shared store as a portal's retrying client would.
//
// Measured, one after the other on the same fast upstream and load generator:
// - the reference: one gateway with the SQLite audit store and no Redis (what a single replica costs);
// - 1, 2 and 3 replicas (BENCH_REPLICAS) on one PostgreSQL schema and one Redis, the load split evenly over them
//   (BENCH_REPLICAS_CONNECTIONS in all, for BENCH_REPLICAS_SECONDS each).
// Reported per setting: audited runs per second (202s), p50 / p99, and CPU per run of the gateways, of Redis and of
// every PostgreSQL process together. The chain head is one row every append updates in its transaction, so audited
// runs per second flatten where that row's lock, not CPU, is the limit: `flattensAt` is the first replica count that
// adds less than 10 % over the one before. On this machine (two cores) the replicas also share the cores with the
// database, Redis and the load generator: a flat curve here can be CPU as well; the CPU columns say which.
import { cpuMark, cpuSince } from '../lib/cpu.mjs';
import { runLoad } from '../lib/load.mjs';
import { postgresServer, withBenchSchema } from '../lib/postgres.mjs';
import { startGateway, startRedis } from '../lib/servers.mjs';
import { fmt } from '../lib/table.mjs';
import { request } from '../lib/targets.mjs';

const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);

export async function replicas(ctx) {
  const counts = (process.env.BENCH_REPLICAS ?? '1,2,3').split(',').map(Number);
  const connections = num('BENCH_REPLICAS_CONNECTIONS', 48);
  const durationSec = num('BENCH_REPLICAS_SECONDS', 8);
  const scenario = 'replicas: audited runs';
  ctx.log(`${scenario}: SQLite single process, then ${counts.join(', ')} replicas on PostgreSQL and Redis`);
  const server = postgresServer(ctx);
  const redis = await startRedis(ctx, 'redis-replicas');
  const skipped = server.skipped ?? redis.skipped;
  if (skipped) {
    if (!redis.skipped) await redis.stop();
    return { result: { skipped }, rows: [{ scenario, target: '', notes: `skipped: ${skipped}` }] };
  }
  try {
    const single = await measure(ctx, {
      name: 'replicas-sqlite',
      count: 1,
      extraConfig: { audit: { store: 'sqlite', sqlite: { path: `${ctx.tmp}/replicas-sqlite.db` } } },
      connections,
      durationSec,
    });
    const shared = [];
    for (const count of counts) {
      const point = await withBenchSchema(server, `bench_replicas_${count}`, ({ url, database }) =>
        measure(ctx, {
          name: `replicas-${count}`,
          count,
          extraConfig: { audit: { store: 'postgres', postgres: { url } }, redis: { url: redis.url } },
          connections,
          durationSec,
          pids: { redis: redis.pid, ...(database && { postgres: database }) },
        }),
      );
      shared.push({ replicas: count, ...point });
    }
    const flattensAt = shared.find((point, i) => i > 0 && point.rps < shared[i - 1].rps * 1.1)?.replicas;
    const one = shared.find((point) => point.replicas === 1);
    const result = {
      connections,
      durationSec,
      single,
      shared,
      flattensAt,
      // What one replica on shared stores costs against one process on SQLite: the price of being able to scale out.
      sharedOverSingle: one && {
        cpuPerRun: one.cpuPerRun.total / single.cpuPerRun.total,
        gatewayCpuPerRun: one.cpuPerRun.gateways / single.cpuPerRun.gateways,
        p50AddedMs: one.p50 - single.p50,
        p99AddedMs: one.p99 - single.p99,
      },
      redisVersion: redis.version,
    };
    const row = (target, point) => ({
      scenario,
      target,
      notes:
        `${fmt(point.rps)} runs/s, p50 ${fmt(point.p50, 1)} ms, p99 ${fmt(point.p99, 1)} ms; CPU per run ` +
        `${fmt(point.cpuPerRun.total)} µs (gateways ${fmt(point.cpuPerRun.gateways)}` +
        (point.cpuPerRun.redis !== undefined ? `, Redis ${fmt(point.cpuPerRun.redis)}` : '') +
        (point.cpuPerRun.postgres !== undefined ? `, PostgreSQL ${fmt(point.cpuPerRun.postgres)}` : '') +
        `)${point.unexpected ? `; ${point.unexpected} answers not 202 (${JSON.stringify(point.statuses)})` : ''}`,
    });
    const rows = [
      row('1 process, SQLite', single),
      ...shared.map((point) =>
        row(`${point.replicas} replica${point.replicas > 1 ? 's' : ''}, PostgreSQL + Redis`, point),
      ),
      {
        scenario,
        target: 'summary',
        notes:
          `${flattensAt ? `flattens at ${flattensAt} replicas` : 'no flattening up to the last count'}; ` +
          (result.sharedOverSingle
            ? `1 replica on shared stores: ${fmt(result.sharedOverSingle.cpuPerRun, 2)}× the CPU per run of SQLite, ` +
              `p99 ${result.sharedOverSingle.p99AddedMs >= 0 ? '+' : ''}${fmt(result.sharedOverSingle.p99AddedMs, 1)} ms`
            : ''),
      },
    ];
    return { result, rows };
  } finally {
    await redis.stop();
  }
}

/**
 * `count` gateways with `extraConfig`, the load split over them for `durationSec`; CPU of the gateways and of `pids`
 * (more processes: Redis, PostgreSQL) over the measured window, per run answered 202.
 */
async function measure(ctx, { name, count, extraConfig, connections, durationSec, pids = {} }) {
  const gateways = [];
  try {
    for (let i = 0; i < count; i++) gateways.push(await startGateway(ctx, { name: `${name}-${i + 1}`, extraConfig }));
    const run = request(ctx, 'run', 'gateway');
    const at = (gateway) => `${gateway.url}${new URL(run.url).pathname}`;
    let key = 0;
    const load = (gateway, share) =>
      runLoad({
        ...run,
        url: at(gateway),
        connections: share,
        durationSec,
        setupRequest: (req) => {
          key += 1;
          req.headers = { ...req.headers, 'idempotency-key': `replicas-${name}-${process.pid}-${key}` };
          return req;
        },
      });
    // A short warm-up, so that sessions, JIT and pools are in place before the window.
    await Promise.all(gateways.map((gateway) => runLoad({ ...run, url: at(gateway), connections: 4, durationSec: 1 })));
    const gatewayPids = Object.fromEntries(gateways.map((gateway, i) => [`gateway${i + 1}`, gateway.pid]));
    const mark = cpuMark({ ...gatewayPids, ...pids });
    const shares = gateways.map((_, i) => Math.floor(connections / count) + (i < connections % count ? 1 : 0));
    const results = await Promise.all(gateways.map((gateway, i) => load(gateway, shares[i])));
    const { used, otherCores } = cpuSince(mark);
    const ok = results.reduce((sum, r) => sum + r.ok, 0);
    const seconds = Math.max(...results.map((r) => r.seconds));
    const per = (micros) => (micros === undefined || ok === 0 ? undefined : micros / ok);
    const gatewaysCpu = Object.keys(gatewayPids).reduce((sum, k) => sum + (used[k] ?? 0), 0);
    const cpuPerRun = {
      gateways: per(gatewaysCpu),
      redis: per(used.redis),
      postgres: per(used.postgres),
    };
    cpuPerRun.total = Object.values(cpuPerRun).reduce((sum, v) => sum + (v ?? 0), 0);
    const statuses = {};
    for (const r of results)
      for (const [status, n] of Object.entries(r.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
    return {
      rps: ok / seconds,
      // Each replica's own percentiles, the worst of them: a caller meets whichever replica the balancer picked.
      p50: Math.max(...results.map((r) => r.p50 ?? 0)),
      p99: Math.max(...results.map((r) => r.p99 ?? 0)),
      cpuPerRun,
      statuses,
      unexpected: results.reduce((sum, r) => sum + r.unexpected, 0),
      otherCores,
    };
  } finally {
    await Promise.all(gateways.map((gateway) => gateway.stop({ graceMs: 10_000 })));
  }
}

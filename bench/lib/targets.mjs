// The requests the benchmark sends, per target. The gateway and the floor get the caller's
// request (JWT); direct and nginx get the appliance's own request (session header), with the
// same Authorization header so that every target receives about the same bytes.
import { APPLIANCE_ID } from './servers.mjs';

export const SCHEDULE = 'default';
export const JOB_ID = '20261126-120000-00000001';
export const RUN_BODY = JSON.stringify({ comment: 'bench' });

const gatewayPaths = {
  run: `/appliances/${APPLIANCE_ID}/backups/schedules/${SCHEDULE}/run`,
  job: `/appliances/${APPLIANCE_ID}/backups/jobs/${JOB_ID}`,
};
const appliancePaths = {
  run: `/api/appliance/recovery/backup/schedules/${SCHEDULE}?action=run`,
  job: `/api/appliance/recovery/backup/job/${JOB_ID}`,
};

/**
 * The gateways a run may hold, by target name (each is ctx[name] once started): the main one, the one with
 * request logs on, and those the scenarios start for a feature on or off (audit, idempotency, rate limits, the
 * token cache).
 */
const GATEWAYS = {
  gateway: 'gateway (log warn)',
  gatewayInfo: 'gateway (log info)',
  gatewayBaseline: 'baseline build (log warn)',
  gatewayNoTokenCache: 'gateway, token cache off',
  gatewayAuditSqlite: 'gateway, audit SQLite',
  gatewayAuditPostgres: 'gateway, audit PostgreSQL',
  gatewayIdempotencySqlite: 'gateway, audit SQLite',
  gatewayIdempotencyPostgres: 'gateway, audit PostgreSQL',
  gatewayRateLimitOff: 'gateway, rate limit off',
  gatewayRateLimitMemory: 'gateway, rate limit in memory (default)',
  gatewayRateLimitRedis: 'gateway, rate limit in Redis',
};

/** kind: 'run' (POST, the hot path) or 'job' (GET job status). Returns the request for one target. */
export function request(ctx, kind, via) {
  const post = kind === 'run';
  const headers = { authorization: `Bearer ${ctx.token}` };
  if (post) headers['content-type'] = 'application/json';
  const base = {
    method: post ? 'POST' : 'GET',
    body: post ? RUN_BODY : undefined,
    expectStatus: post ? (via === 'direct' || via === 'nginx' ? 200 : 202) : 200,
  };
  switch (via) {
    case 'direct':
      return {
        ...base,
        url: `${ctx.upstream.url}${appliancePaths[kind]}`,
        headers: { ...headers, 'vmware-api-session-id': ctx.session },
      };
    case 'nginx':
      return {
        ...base,
        url: `${ctx.nginx.url}${appliancePaths[kind]}`,
        headers: { ...headers, 'vmware-api-session-id': ctx.session },
      };
    case 'floor':
      return { ...base, url: `${ctx.floor.url}${gatewayPaths[kind]}`, headers };
    default:
      if (!GATEWAYS[via]) throw new Error(`unknown target ${via}`);
      return { ...base, url: `${ctx[via].url}${gatewayPaths[kind]}`, headers };
  }
}

/** The comparison targets available in this run (nginx only when installed). */
export function targetsFor(ctx, kind, names) {
  const up = ctx.upstream.pid;
  const all = {
    direct: { label: 'direct to upstream', pids: { upstream: up }, server: 'upstream' },
    nginx: ctx.nginx && {
      label: 'nginx proxy_pass',
      pids: { nginx: ctx.nginx.workerPid, upstream: up },
      server: 'nginx',
    },
    floor: { label: 'Node floor', pids: { floor: ctx.floor.pid, upstream: up }, server: 'floor' },
  };
  for (const [name, label] of Object.entries(GATEWAYS)) {
    if (ctx[name]) all[name] = { label, pids: { gateway: ctx[name].pid, upstream: up }, server: 'gateway' };
  }
  return names.filter((name) => all[name]).map((name) => ({ name, ...all[name], ...request(ctx, kind, name) }));
}

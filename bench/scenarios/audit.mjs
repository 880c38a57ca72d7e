// Scenario 2a/2b: the hot path (POST .../run) with the audit trail on, SQLite then PostgreSQL: a gateway with
// `audit.store` on beside the main one (audit off) and the Node floor, in the same paired alternating rounds as
// the hot path (lib/compare.mjs); reported as ratios to the gateway without audit and to the floor (budget: with
// SQLite on, at least 60% of the floor's requests/s; bench/check.mjs reads result.rpsOverFloor). Every run writes
// two entries (`requested` before the appliance is called, `completed` before the answer), each its own
// transaction, committed durably (SQLite: WAL with synchronous FULL; PostgreSQL: synchronous commit).
//
// PostgreSQL: the URL is BENCH_POSTGRES_URL, else AUDIT_TEST_POSTGRES_URL, else what `.ci/postgres.sh` prints
// (it installs and starts a server if needed); none: skipped. The gateway writes into a schema of its own,
// bench_audit_<pid>, created here and dropped afterwards (the URL's `options=-c search_path=...`, which the
// store honours), so it never touches the tables of the tests sharing that database. When the server runs on
// this machine, the CPU of every `postgres` process (other clients' backends included) is reported as the
// database's CPU per request.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { compactComparison, compareTargets, gatewayRatios } from '../lib/compare.mjs';
import { pidsNamed } from '../lib/cpu.mjs';
import { requestJson } from '../lib/http.mjs';
import { throughputRows } from '../lib/report.mjs';
import { startGateway } from '../lib/servers.mjs';
import { fmt, fmtRatio } from '../lib/table.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function auditSqlite(ctx) {
  const audit = { store: 'sqlite', sqlite: { path: path.join(ctx.tmp, 'audit-sqlite.db') } };
  return auditOn(ctx, { name: 'gatewayAuditSqlite', label: 'SQLite', audit });
}

export async function auditPostgres(ctx) {
  const scenario = 'audit on (PostgreSQL) POST run';
  const server = postgresServer(ctx);
  if (server.skipped) {
    ctx.log(`audit on (PostgreSQL): skipped: ${server.skipped}`);
    return {
      result: { skipped: server.skipped },
      rows: [{ scenario, target: 'gateway', notes: `skipped: ${server.skipped}` }],
    };
  }
  const schema = `bench_audit_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = `${server.url}${server.url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const local = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(server.url).hostname);
    return await auditOn(ctx, {
      name: 'gatewayAuditPostgres',
      label: 'PostgreSQL',
      audit: { store: 'postgres', postgres: { url } },
      database: local ? () => pidsNamed('postgres') : undefined,
      describe: { urlFrom: server.from, schema, serverOnThisMachine: local },
    });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

/** The PostgreSQL server to use: { url, from } or { skipped: why }. */
function postgresServer(ctx) {
  for (const name of ['BENCH_POSTGRES_URL', 'AUDIT_TEST_POSTGRES_URL']) {
    if (process.env[name]) return { url: process.env[name], from: name };
  }
  const script = path.join(ctx.benchDir, '..', '.ci', 'postgres.sh');
  try {
    ctx.log('  no BENCH_POSTGRES_URL or AUDIT_TEST_POSTGRES_URL: trying .ci/postgres.sh');
    const out = execFileSync('bash', [script], {
      encoding: 'utf8',
      timeout: 300_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const match = /^export AUDIT_TEST_POSTGRES_URL=(\S+)$/m.exec(out);
    if (match) return { url: match[1], from: '.ci/postgres.sh' };
    return { skipped: 'no PostgreSQL: .ci/postgres.sh printed no URL (set BENCH_POSTGRES_URL)' };
  } catch (error) {
    const why = (error.stderr?.toString() ?? error.message).trim().split('\n').at(-1);
    return {
      skipped: `no PostgreSQL: BENCH_POSTGRES_URL and AUDIT_TEST_POSTGRES_URL unset, .ci/postgres.sh failed (${why})`,
    };
  }
}

/**
 * A gateway named `name` (a target of lib/targets.mjs) with `audit`, against the audit-off gateway and the floor.
 * `database`: the database server's processes, whose CPU is reported per request.
 */
async function auditOn(ctx, { name, label, audit, database, describe = {} }) {
  ctx.log(`audit on (${label}): POST .../run`);
  const gateway = await startGateway(ctx, {
    name: name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    extraConfig: { audit },
  });
  ctx[name] = gateway;
  try {
    const targets = targetsFor(ctx, 'run', ['floor', 'gateway', name]).map((target) => {
      if (target.name === 'gateway') return { ...target, label: 'gateway, audit off' };
      if (target.name === name && database) return { ...target, pids: { ...target.pids, database } };
      return target;
    });
    const comparison = await compareTargets(targets, {
      ...ctx.opts,
      log: ctx.log,
      upstreamRequests: async () => (await ctx.upstream.stats()).requests,
    });
    const r = comparison.pairedRatio;
    const chain = await requestJson(`${gateway.url}/audit/verify`, {
      token: await ctx.idp.token({ scope: 'audit:read' }),
      expect: 200,
      timeoutMs: 120_000,
    });
    const m = comparison.targets[name].median;
    const result = {
      store: audit.store,
      ...describe,
      request: 'POST /appliances/{applianceId}/backups/schedules/{scheduleId}/run, RS256 JWT, body {"comment":"bench"}',
      targets: compactComparison(comparison),
      ratios: {
        ...gatewayRatios(r),
        rpsAuditOverOff: r(name, 'gateway', 'rps'),
        cpuAuditOverOff: r(name, 'gateway', 'serverCpu'),
        cpuAuditOverFloor: r(name, 'floor', 'serverCpu'),
      },
      rpsOverFloor: r(name, 'floor', 'rps'),
      cpuPerRequest: m.serverCpu,
      databaseCpuPerRequest: m.databaseCpu,
      chain: { ...chain.json, verifyMs: chain.ms },
    };
    const notes = [
      `vs audit off: ${fmtRatio(result.ratios.rpsAuditOverOff)} req/s, ${fmtRatio(result.ratios.cpuAuditOverOff)} CPU`,
      `vs floor: ${fmtRatio(result.rpsOverFloor)} req/s, ${fmtRatio(result.ratios.cpuAuditOverFloor)} CPU`,
    ];
    if (m.databaseCpu !== undefined)
      notes.push(`PostgreSQL server CPU ${fmt(m.databaseCpu)} µs/req (all its processes)`);
    notes.push(
      chain.json?.ok
        ? `chain verifies: ${fmt(chain.json.count)} entries (${fmt(chain.ms / 1000, 1)} s)`
        : `CHAIN DOES NOT VERIFY: ${JSON.stringify(chain.json)}`,
    );
    const rows = throughputRows(`audit on (${label}) POST run`, comparison, targets, result.ratios, { [name]: notes });
    return { result, rows };
  } finally {
    delete ctx[name];
    await gateway.stop({ graceMs: 10_000 });
  }
}

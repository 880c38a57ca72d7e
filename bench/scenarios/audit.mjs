// Scenario 2a/2b: the hot path (POST .../run) with the audit trail on, SQLite then PostgreSQL: a gateway with
// `audit.store` on beside the main one (audit off) and the Node floor, in the same paired alternating rounds as
// the hot path (lib/compare.mjs); reported as ratios to the gateway without audit and to the floor (budget: with
// SQLite on, at least 0.4× the floor's requests/s; bench/check.mjs reads result.rpsOverFloor). Every run writes
// two entries (`requested` before the appliance is called, `completed` before the answer), each its own
// transaction, committed durably (SQLite: WAL with synchronous FULL; PostgreSQL: synchronous commit).
//
// PostgreSQL: found as lib/postgres.mjs says (BENCH_POSTGRES_URL, AUDIT_TEST_POSTGRES_URL, .ci/postgres.sh; none:
// skipped); the gateway writes into a schema of its own, bench_audit_<pid>, dropped afterwards. When the server runs
// on this machine, the CPU of every `postgres` process (other clients' backends included) is reported as the
// database's CPU per request.
import path from 'node:path';
import { chainNote, compareThenVerify, withPostgresAudit } from '../lib/audited-load.mjs';
import { compactComparison, gatewayRatios } from '../lib/compare.mjs';
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
  return withPostgresAudit(ctx, { scenario, schemaPrefix: 'bench_audit' }, (store) =>
    auditOn(ctx, { name: 'gatewayAuditPostgres', label: 'PostgreSQL', ...store }),
  );
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
    const { comparison, chain } = await compareThenVerify(ctx, targets, gateway);
    const r = comparison.pairedRatio;
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
    notes.push(chainNote(chain));
    const rows = throughputRows(`audit on (${label}) POST run`, comparison, targets, result.ratios, { [name]: notes });
    return { result, rows };
  } finally {
    delete ctx[name];
    await gateway.stop({ graceMs: 10_000 });
  }
}

// Scenario 2a/2b: the hot path with the audit trail on (SQLite, then PostgreSQL), as a ratio to
// the hot path without it (budget: with SQLite on, at least 60% of the floor's requests/s).
//
// NOT BUILT YET. To build: start a second gateway with
//   startGateway(ctx, { name: 'gateway-audit-sqlite', extraConfig: { audit: { store: 'sqlite', sqlite: { path: `${ctx.tmp}/audit.db` } } } })
// (for PostgreSQL: { audit: { store: 'postgres', postgres: { url } } } with a server started by the
// benchmark), add it as a target beside 'gateway' and 'floor' in compareTargets (lib/compare.mjs),
// and report pairedRatio('gatewayAudit', 'gateway', 'rps') and pairedRatio('gatewayAudit', 'floor', 'rps').
// bench/check.mjs reads result.rpsOverFloor for the SQLite budget line.

export async function auditSqlite(_ctx) {
  return {
    result: { skipped: 'not built yet' },
    rows: [{ scenario: 'audit on (SQLite)', target: 'gateway', notes: 'skipped: not built yet' }],
  };
}

export async function auditPostgres(_ctx) {
  return {
    result: { skipped: 'not built yet' },
    rows: [{ scenario: 'audit on (PostgreSQL)', target: 'gateway', notes: 'skipped: not built yet' }],
  };
}

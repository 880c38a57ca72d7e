// Scenarios idempotencySqlite and idempotencyPostgres: what an Idempotency-Key costs on the hot path (POST .../run),
// with the keys in the audit database: SQLite (idempotencySqlite), then PostgreSQL (idempotencyPostgres). One gateway with that audit store
// receives, in the hot path's paired alternating rounds (lib/compare.mjs), three kinds of request:
//   - no key: the plain run (it still writes its two audit entries);
//   - a new key per request (autocannon's setupRequest sets `Idempotency-Key` on every request), so every run
//     executes: the key's claim (one write transaction: delete if expired, insert, read back on conflict) before the
//     run and its completion (the answer stored) after it;
//   - the same key every time (stored by one request before the rounds): each answer is the stored one replayed
//     (`Idempotent-Replayed: true`), nothing reaches the appliance, and the replay is audited (one entry).
// The ratios key/no key and replay/no key isolate the key's cost: same process, same store, same rounds. The
// no-key requests carry a header of the same length instead (`x-bench-request`, a new value each time), so the
// three send the same bytes and cost the load generator the same.
//
// With `audit.store: off` (the main gateway's setting) the header still works, but the keys live in that process's
// memory (MemoryIdempotencyKeys: no replica or restart sees them, at most 100,000 kept) and nothing is audited: not
// a configuration anyone runs where retries matter, so it is not measured here.
//
// PostgreSQL: found as lib/postgres.mjs says (none: skipped); a schema of its own, bench_idempotency_<pid>, dropped
// afterwards; the CPU of every local `postgres` process is reported per request.
import path from 'node:path';
import { chainNote, compareThenVerify, withPostgresAudit } from '../lib/audited-load.mjs';
import { compactComparison } from '../lib/compare.mjs';
import { throughputRows } from '../lib/report.mjs';
import { startGateway } from '../lib/servers.mjs';
import { fmt, fmtRatio } from '../lib/table.mjs';
import { targetsFor } from '../lib/targets.mjs';

export async function idempotencySqlite(ctx) {
  const audit = { store: 'sqlite', sqlite: { path: path.join(ctx.tmp, 'idempotency-sqlite.db') } };
  return idempotencyOn(ctx, { name: 'gatewayIdempotencySqlite', label: 'SQLite', audit });
}

export async function idempotencyPostgres(ctx) {
  const scenario = 'Idempotency-Key (PostgreSQL) POST run';
  return withPostgresAudit(ctx, { scenario, schemaPrefix: 'bench_idempotency' }, (store) =>
    idempotencyOn(ctx, { name: 'gatewayIdempotencyPostgres', label: 'PostgreSQL', ...store }),
  );
}

/** Keys of one length, unique to this run: `bench-<pid>-<time>-<10 digits>`. */
function keyMaker() {
  const prefix = `bench-${process.pid}-${Date.now().toString(36)}`;
  let next = 0;
  return () => `${prefix}-${String(next++).padStart(10, '0')}`;
}

async function idempotencyOn(ctx, { name, label, audit, database, describe = {} }) {
  ctx.log(`Idempotency-Key (audit ${label}): POST .../run`);
  const gateway = await startGateway(ctx, {
    name: name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
    extraConfig: { audit },
  });
  ctx[name] = gateway;
  try {
    const [base] = targetsFor(ctx, 'run', [name]);
    const pids = database ? { ...base.pids, database } : base.pids;
    const newKey = keyMaker();
    const replayKey = newKey();
    // The replayed answer: stored by one run first, then every request with this key gets it back.
    const seeded = await fetch(base.url, {
      method: 'POST',
      headers: { ...base.headers, 'idempotency-key': replayKey },
      body: base.body,
    });
    const replayed = await fetch(base.url, {
      method: 'POST',
      headers: { ...base.headers, 'idempotency-key': replayKey },
      body: base.body,
    });
    await Promise.all([seeded.arrayBuffer(), replayed.arrayBuffer()]);
    if (seeded.status !== 202 || replayed.status !== 202 || replayed.headers.get('idempotent-replayed') !== 'true') {
      throw new Error(
        `Idempotency-Key: first answer ${seeded.status}, retry ${replayed.status} (Idempotent-Replayed: ${replayed.headers.get('idempotent-replayed')}); expected 202 and a replayed 202`,
      );
    }
    const withHeader = (header, value) => (request) => {
      request.headers[header] = value();
      return request;
    };
    const targets = [
      { ...base, pids, label: `gateway, audit ${label}, no key`, setupRequest: withHeader('x-bench-request', newKey) },
      {
        ...base,
        pids,
        name: `${name}Key`,
        label: `gateway, audit ${label}, a new key per request`,
        setupRequest: withHeader('idempotency-key', newKey),
      },
      {
        ...base,
        pids,
        name: `${name}Replay`,
        label: `gateway, audit ${label}, the same key: replayed`,
        setupRequest: withHeader('idempotency-key', () => replayKey),
        notForwarded: 'replayed from the store, nothing sent',
      },
    ];
    const { comparison, chain } = await compareThenVerify(ctx, targets, gateway);
    const r = comparison.pairedRatio;
    const median = (target) => comparison.targets[target].median;
    const result = {
      store: audit.store,
      ...describe,
      request:
        'POST /appliances/{applianceId}/backups/schedules/{scheduleId}/run, RS256 JWT, body {"comment":"bench"}; Idempotency-Key: none / new per request / one replayed',
      targets: compactComparison(comparison),
      ratios: {
        rpsKeyOverNoKey: r(`${name}Key`, name, 'rps'),
        cpuKeyOverNoKey: r(`${name}Key`, name, 'serverCpu'),
        databaseCpuKeyOverNoKey: database ? r(`${name}Key`, name, 'databaseCpu') : undefined,
        rpsReplayOverNoKey: r(`${name}Replay`, name, 'rps'),
        cpuReplayOverNoKey: r(`${name}Replay`, name, 'serverCpu'),
      },
      cpuPerRequest: {
        noKey: median(name).serverCpu,
        key: median(`${name}Key`).serverCpu,
        replay: median(`${name}Replay`).serverCpu,
      },
      databaseCpuPerRequest: database
        ? {
            noKey: median(name).databaseCpu,
            key: median(`${name}Key`).databaseCpu,
            replay: median(`${name}Replay`).databaseCpu,
          }
        : undefined,
      chain: { ...chain.json, verifyMs: chain.ms },
    };
    const x = result.ratios;
    const databaseNote = (target) =>
      database ? [`PostgreSQL server CPU ${fmt(median(target).databaseCpu)} µs/req (all its processes)`] : [];
    const rows = throughputRows(
      `Idempotency-Key (audit ${label}) POST run`,
      comparison,
      targets,
      {},
      {
        [name]: [...databaseNote(name), chainNote(chain)],
        [`${name}Key`]: [
          `vs no key: ${fmtRatio(x.rpsKeyOverNoKey)} req/s, ${fmtRatio(x.cpuKeyOverNoKey)} CPU`,
          ...databaseNote(`${name}Key`),
        ],
        [`${name}Replay`]: [
          `vs no key: ${fmtRatio(x.rpsReplayOverNoKey)} req/s, ${fmtRatio(x.cpuReplayOverNoKey)} CPU`,
          ...databaseNote(`${name}Replay`),
        ],
      },
    );
    return { result, rows };
  } finally {
    delete ctx[name];
    await gateway.stop({ graceMs: 10_000 });
  }
}

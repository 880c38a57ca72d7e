// Scenario 2e: the gateway stays responsive while an audit trail of 1,000,000 entries (BENCH_LIVENESS_ENTRIES) is
// verified and exported. A SQLite audit database is filled with a valid chain (lib/audit-db.mjs), a gateway is started
// on it, and a prober process of its own (lib/liveness-prober.mjs) sends GET /health/live 100 times a second, open
// loop: first while nothing else happens, then during GET /audit/verify, then while the whole trail is read as NDJSON.
// Reported per phase: p50, p99 and max of /health/live, and the longest the gateway's main thread held its event loop
// (lib/loop-monitor.mjs, preloaded into this gateway: on-CPU time of the main thread while a 2 ms timer was late),
// which tells a blocked event loop from a machine busy elsewhere; and how long the verification and the export took.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { fillAuditDatabase } from '../lib/audit-db.mjs';
import { noteOtherLoad } from '../lib/compare.mjs';
import { cpuMark, cpuSince } from '../lib/cpu.mjs';
import { readNdjsonExport, requestJson } from '../lib/http.mjs';
import { startGateway } from '../lib/servers.mjs';
import { percentileSorted } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';

const PROBES_PER_SECOND = 100;
const IDLE_SECONDS = 3;

export async function auditLiveness(ctx) {
  const entries = 2 * Math.round(ctx.opts.livenessEntries / 2); // runs of two entries
  ctx.log(`audit liveness: /health/live while ${fmt(entries)} entries are verified and exported`);
  const file = path.join(ctx.tmp, 'audit-liveness.db');
  const loopFile = path.join(ctx.tmp, 'audit-liveness-loop.json');
  try {
    const fillMs = await fillAuditDatabase(ctx.root, file, entries);
    ctx.log(`  ${fmt(entries)} entries written in ${fmt(fillMs)} ms`);
    const gateway = await startGateway(ctx, {
      name: 'gateway-audit-liveness',
      nodeArgs: ['--import', pathToFileURL(path.join(ctx.benchDir, 'lib', 'loop-monitor.mjs')).href],
      env: { LOOP_MONITOR_FILE: loopFile },
      extraConfig: { audit: { store: 'sqlite', sqlite: { path: file } } },
    });
    let phases;
    try {
      phases = await measurePhases(ctx, gateway, entries);
    } finally {
      await gateway.stop({ graceMs: 10_000 });
    }
    const late = JSON.parse(fs.readFileSync(loopFile, 'utf8'));
    for (const phase of Object.values(phases)) {
      const within = late.filter(([at]) => at >= phase.from && at <= phase.to);
      phase.longestBlockMs = Math.max(0, ...within.map(([, , onCpu]) => onCpu));
      phase.longestLateMs = Math.max(0, ...within.map(([, by]) => by));
      delete phase.from;
      delete phase.to;
    }
    const { idle, verify, exported } = phases;
    const result = {
      entries,
      fillMs,
      probesPerSecond: PROBES_PER_SECOND,
      idle,
      verify,
      export: exported,
      p99WhileVerifying: verify.p99,
      p99WhileExporting: exported.p99,
      longestBlockWhileVerifying: verify.longestBlockMs,
      longestBlockWhileExporting: exported.longestBlockMs,
    };
    const scenario = `audit at ${fmt(entries)} entries (SQLite): GET /health/live`;
    const row = (target, measured, notes) => ({
      scenario,
      target,
      p50: fmt(measured.p50, 2),
      p99: fmt(measured.p99, 2),
      notes:
        `max ${fmt(measured.max, 1)} ms over ${fmt(measured.probes)} probes (${PROBES_PER_SECOND}/s, open loop); ` +
        `event loop held at most ${fmt(measured.longestBlockMs, 1)} ms (timer late by up to ${fmt(measured.longestLateMs, 0)} ms); ` +
        `other processes ${fmt(measured.otherCores, 2)} cores${notes ? `; ${notes}` : ''}`,
    });
    const rows = [
      row('idle', idle),
      row(
        'while GET /audit/verify runs',
        verify,
        `the verification took ${fmt(verify.ms / 1000, 1)} s (${fmt(verify.entriesPerSecond)} entries/s)`,
      ),
      row(
        'while the NDJSON export runs',
        exported,
        `${fmt(exported.bytes / 1e6, 0)} MB in ${fmt(exported.ms / 1000, 1)} s (${fmt(exported.entriesPerSecond)} entries/s)`,
      ),
    ];
    return { result, rows };
  } finally {
    for (const leftover of [file, `${file}-wal`, `${file}-shm`, loopFile]) fs.rmSync(leftover, { force: true });
  }
}

async function measurePhases(ctx, gateway, entries) {
  const token = await ctx.idp.token({ scope: 'audit:read', expiresInSeconds: 3600 });
  // The audit routes' code and the token's verification, before anything is measured.
  await requestJson(`${gateway.url}/audit/events?limit=10`, { token, expect: 200 });

  const idle = await probing(ctx, gateway, () => sleep(IDLE_SECONDS * 1000));
  ctx.log(`  idle: /health/live p99 ${fmt(idle.p99, 2)} ms`);

  const verify = await probing(ctx, gateway, () =>
    requestJson(`${gateway.url}/audit/verify`, { token, expect: 200, timeoutMs: 600_000 }),
  );
  if (verify.result.json?.ok !== true || verify.result.json.count !== entries) {
    throw new Error(`GET /audit/verify answered ${JSON.stringify(verify.result.json)}, expected ok with ${entries}`);
  }
  verify.entriesPerSecond = entries / (verify.ms / 1000);
  ctx.log(`  verify: ${fmt(verify.ms)} ms; /health/live p99 ${fmt(verify.p99, 2)} ms, max ${fmt(verify.max, 1)} ms`);

  const exported = await probing(ctx, gateway, () => readNdjsonExport(`${gateway.url}/audit/events`, token));
  if (exported.result.lines !== entries)
    throw new Error(`the export held ${exported.result.lines} lines of ${entries}`);
  exported.bytes = exported.result.bytes;
  exported.entriesPerSecond = entries / (exported.ms / 1000);
  ctx.log(
    `  export: ${fmt(exported.ms)} ms; /health/live p99 ${fmt(exported.p99, 2)} ms, max ${fmt(exported.max, 1)} ms`,
  );

  for (const phase of [idle, verify, exported]) delete phase.result;
  return { idle, verify, exported };
}

/** Runs `work` while the prober measures /health/live: the latencies' percentiles, the window, how long it took. */
async function probing(ctx, gateway, work) {
  const script = path.join(ctx.benchDir, 'lib', 'liveness-prober.mjs');
  const prober = spawn(process.execPath, [script, gateway.url, String(PROBES_PER_SECOND)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: prober.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('the liveness prober did not start');
  const from = Date.now();
  const mark = cpuMark({ gateway: gateway.pid, prober: prober.pid });
  let result;
  try {
    result = await work();
  } finally {
    prober.stdin.end();
  }
  const to = Date.now();
  const { otherCores } = cpuSince(mark);
  noteOtherLoad(otherCores);
  const { latencies, errors } = JSON.parse((await lines.next()).value);
  const sorted = Float64Array.from(latencies).sort();
  return {
    result,
    from,
    to,
    ms: to - from,
    probes: sorted.length,
    errors,
    otherCores,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    max: sorted.at(-1),
  };
}


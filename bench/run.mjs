#!/usr/bin/env node
// The benchmark: `npm run bench` (builds first). Starts everything on 127.0.0.1, each server in
// its own child process (gateway, fast upstream, Node floor, nginx, simulators), runs the
// scenarios in bench/scenarios/, prints one table and writes bench/results/<date>.json (git-ignored: a
// local record) and bench/results/latest.json (committed). `npm run bench:check` compares latest.json with the budget.
//
// Knobs (environment): BENCH_ROUNDS (3), BENCH_SECONDS (5 per target per round),
// BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50), BENCH_RATE (500), BENCH_RATE_SECONDS (4),
// BENCH_RATE_ROUNDS (3), BENCH_BURST_CONNECTIONS (10), BENCH_WATCHERS_SECONDS (10), BENCH_FLEET_RUNS (5),
// BENCH_FLEET_SIZES (100,500,1000,2000; and the other BENCH_FLEET_* of scenarios/fleet-size.mjs),
// BENCH_EXPORT_ENTRIES (100000), BENCH_LIVENESS_ENTRIES (1000000), BENCH_TRAIL_ENTRIES (10000000),
// BENCH_TRAIL_STORES (sqlite,postgres), BENCH_TRAIL_QUERIES (300 per filter), BENCH_TRAIL_PHASE_SECONDS (180: the most one filter's requests take),
// BENCH_TRAIL_WALK_PAGES (1000), BENCH_TRAIL_PHASES (queries,walk,verify,export,purge: a subset of auditTrail's),
// BENCH_TRAIL_CACHE (where generated trails are kept; scenarios/audit-trail.mjs), BENCH_TRAIL_POSTGRES_URL, BENCH_POSTGRES_URL (else AUDIT_TEST_POSTGRES_URL, else .ci/postgres.sh),
// BENCH_PROJECT_ROOT (another built checkout), BENCH_BASELINE_ROOT (an earlier built checkout, run beside this one),
// BENCH_PIN=off (servers and load generator share every CPU instead of one CPU each),
// BENCH_INSTALL=1 (apt-get install nginx if missing), BENCH_SCENARIOS=hotPath,jobStatus,... (a subset;
// then latest.json is not touched),
// BENCH_WAIT_QUIET=seconds (wait up to that long for other processes to leave the CPUs idle),
// BENCH_GATEWAY_NODE_FLAGS='--max-old-space-size=112' (added to the flags of package.json's start script),
// BENCH_NGINX=/path/to/nginx or off, BENCH_DEADLINE_MINUTES (40; 130 with auditTrail).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { otherLoad } from './lib/compare.mjs';
import { quietMachine } from './lib/cpu.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { ensureNginx, startNginx } from './lib/nginx.mjs';
import { pinCpus } from './lib/pin.mjs';
import { freePort, installExitHandlers } from './lib/procs.mjs';
import { COLUMNS } from './lib/report.mjs';
import { startFloor, startGateway, startUpstream } from './lib/servers.mjs';
import { formatTable } from './lib/table.mjs';
import { auditPostgres, auditSqlite } from './scenarios/audit.mjs';
import { auditExport } from './scenarios/audit-export.mjs';
import { auditLiveness } from './scenarios/audit-liveness.mjs';
import { auditTrail } from './scenarios/audit-trail.mjs';
import { fixedRate } from './scenarios/fixed-rate.mjs';
import { fleet } from './scenarios/fleet.mjs';
import { fleetSize } from './scenarios/fleet-size.mjs';
import { footprint } from './scenarios/footprint.mjs';
import { hotPath } from './scenarios/hot-path.mjs';
import { idempotencyPostgres, idempotencySqlite } from './scenarios/idempotency.mjs';
import { jobStatus } from './scenarios/job-status.mjs';
import { loginsUnderLoad } from './scenarios/logins.mjs';
import { notifications } from './scenarios/notifications.mjs';
import { queuedMembers } from './scenarios/queued-members.mjs';
import { rateLimit } from './scenarios/rate-limit.mjs';
import { replicas } from './scenarios/replicas.mjs';
import { sseWatchers } from './scenarios/sse-watchers.mjs';
import { watchers } from './scenarios/watchers.mjs';
import { waves } from './scenarios/waves.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
// BENCH_PROJECT_ROOT: benchmark another checkout's build (e.g. before/after a change) with this bench.
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
// BENCH_BASELINE_ROOT: an earlier build, run as one more target beside this one (the hot path's paired rounds, the
// fixed rate), so that the budget compares the two within one run instead of against figures from another day.
const baselineRoot = process.env.BENCH_BASELINE_ROOT ? path.resolve(process.env.BENCH_BASELINE_ROOT) : undefined;
if (baselineRoot && !fs.existsSync(path.join(baselineRoot, 'dist', 'main.js'))) {
  // Asked for and not there: stop now rather than after minutes of measuring without it.
  console.error(
    `bench: BENCH_BASELINE_ROOT=${baselineRoot} has no dist/main.js (run \`npm ci && npm run build\` in it first)`,
  );
  process.exit(2);
}
const num = (name, fallback) => {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
};
const opts = {
  rounds: num('BENCH_ROUNDS', 3),
  durationSec: num('BENCH_SECONDS', 5),
  warmupSec: num('BENCH_WARMUP_SECONDS', 2),
  connections: num('BENCH_CONNECTIONS', 50),
  rate: num('BENCH_RATE', 500),
  rateSeconds: num('BENCH_RATE_SECONDS', 4),
  rateRounds: num('BENCH_RATE_ROUNDS', 3),
  burstConnections: num('BENCH_BURST_CONNECTIONS', 10),
  watchersSeconds: num('BENCH_WATCHERS_SECONDS', 10),
  fleetRuns: num('BENCH_FLEET_RUNS', 5),
  exportEntries: num('BENCH_EXPORT_ENTRIES', 100_000),
  livenessEntries: num('BENCH_LIVENESS_ENTRIES', 1_000_000),
  trailEntries: num('BENCH_TRAIL_ENTRIES', 10_000_000),
  trailStores: (process.env.BENCH_TRAIL_STORES ?? 'sqlite,postgres')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
  trailQueries: num('BENCH_TRAIL_QUERIES', 300),
  trailWalkPages: num('BENCH_TRAIL_WALK_PAGES', 1000),
  trailPhaseSeconds: num('BENCH_TRAIL_PHASE_SECONDS', 180),
  trailPhases: (process.env.BENCH_TRAIL_PHASES ?? 'queries,walk,verify,export,purge').split(',').map((s) => s.trim()),
};

// In run order: footprint reads the main gateway's RSS after the load scenarios.
const SCENARIOS = {
  hotPath,
  jobStatus,
  fixedRate,
  footprint,
  loginsUnderLoad,
  auditSqlite,
  auditPostgres,
  idempotencySqlite,
  idempotencyPostgres,
  rateLimit,
  auditExport,
  auditLiveness,
  auditTrail,
  watchers,
  fleet,
  fleetSize,
  notifications,
  waves,
  queuedMembers,
  sseWatchers,
  replicas,
};
const selected = process.env.BENCH_SCENARIOS
  ? process.env.BENCH_SCENARIOS.split(',').map((s) => s.trim())
  : Object.keys(SCENARIOS);
for (const name of selected)
  if (!SCENARIOS[name])
    throw new Error(`BENCH_SCENARIOS: unknown scenario ${name} (${Object.keys(SCENARIOS).join(', ')})`);
const partial = selected.length !== Object.keys(SCENARIOS).length;

// auditTrail at its default size generates (first time) and reads 10 million entries per store: its own hour and a half.
installExitHandlers({
  deadlineMs: num('BENCH_DEADLINE_MINUTES', selected.includes('auditTrail') ? 40 + 90 : 40) * 60_000,
});
const log = (message) => process.stderr.write(`${message}\n`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-gateway-bench-'));
const ctx = { root, benchDir, tmp, opts, log };
const started = new Date();
const loadAverageAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
const results = {};
const rows = [];
let failed = false;
let otherLoadAtStart;

function gitInfo(root) {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return { commit, srcUncommittedChanges: dirty };
  } catch {
    return undefined;
  }
}

function versionOf(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

try {
  log(`bench: temporary files in ${tmp}`);
  ctx.pinning = pinCpus();
  log(
    ctx.pinning.skipped
      ? `bench: servers and load share every CPU (${ctx.pinning.skipped})`
      : `bench: servers on CPU ${ctx.pinning.servers}, load generator on CPU ${ctx.pinning.load}`,
  );
  const waitQuiet = num('BENCH_WAIT_QUIET', 0);
  const busy = await quietMachine({ cores: 0.25, maxSeconds: Math.max(1, waitQuiet) });
  otherLoadAtStart = Math.round(busy * 100) / 100;
  if (busy > 0.25)
    log(
      `bench: other processes are using ${busy.toFixed(2)} cores of this machine: expect noisy requests/s and latencies (BENCH_WAIT_QUIET=120 waits for a quiet machine)`,
    );
  ctx.idp = await startIdentityProvider();
  ctx.token = await ctx.idp.token({ expiresInSeconds: 3 * 3600 });
  ctx.upstream = await startUpstream(ctx);
  ctx.session = await ctx.upstream.login();
  ctx.floor = await startFloor(ctx, ctx.upstream);
  const nginx = ensureNginx({ install: process.env.BENCH_INSTALL === '1', log });
  if (nginx.skipped) {
    ctx.nginxSkipped = nginx.skipped;
    log(`bench: ${nginx.skipped}`);
  } else {
    ctx.nginxVersion = nginx.version;
    ctx.nginx = await startNginx({
      bin: nginx.bin,
      dir: path.join(tmp, 'nginx'),
      listenPort: await freePort(),
      upstreamPort: ctx.upstream.info.port,
    });
  }
  ctx.gateway = await startGateway(ctx, { name: 'gateway', level: 'warn' });
  ctx.gatewayInfo = await startGateway(ctx, { name: 'gateway-info', level: 'info' });
  if (baselineRoot) {
    ctx.gatewayBaseline = await startGateway(ctx, { name: 'gateway-baseline', level: 'warn', root: baselineRoot });
    ctx.baseline = {
      ...gitInfo(baselineRoot),
      startCommand: `node ${[...ctx.gatewayBaseline.nodeFlags, 'dist/main.js'].join(' ')}`,
      droppedConfigKeys: ctx.gatewayBaseline.droppedConfigKeys,
    };
    log(
      `bench: baseline ${ctx.baseline.commit?.slice(0, 7)} ready in ${ctx.gatewayBaseline.readyMs.toFixed(0)} ms (config without ${ctx.baseline.droppedConfigKeys.join(', ') || 'nothing'}: keys it does not know)`,
    );
  } else {
    ctx.baseline = { skipped: 'BENCH_BASELINE_ROOT is not set (an earlier built checkout: see bench/README.md)' };
  }
  log(`bench: gateway ready in ${ctx.gateway.readyMs.toFixed(0)} ms; every server is up`);

  for (const name of selected) {
    try {
      const { result, rows: scenarioRows } = await SCENARIOS[name](ctx);
      results[name] = result;
      rows.push(...scenarioRows);
    } catch (error) {
      failed = true;
      results[name] = { error: error.message };
      rows.push({ scenario: name, target: '', notes: `ERROR: ${error.message.split('\n')[0]}` });
      log(`bench: scenario ${name} failed: ${error.stack}`);
    }
  }
  const upstreamStats = await ctx.upstream.stats();
  results.sanity = {
    upstreamLogins: upstreamStats.logins,
    upstreamRequests: upstreamStats.requests,
    jwksFetches: ctx.idp.fetches,
  };
} catch (error) {
  failed = true;
  log(`bench: ${error.stack}`);
} finally {
  for (const server of [ctx.gatewayBaseline, ctx.gatewayInfo, ctx.gateway, ctx.nginx, ctx.floor, ctx.upstream]) {
    await server?.stop().catch(() => undefined);
  }
  await ctx.idp?.close();
}

const table = formatTable(COLUMNS, rows);
const cpus = os.cpus();
const output = {
  schema: 1,
  date: started.toISOString(),
  durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
  partial,
  failed,
  machine: {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx: ctx.nginxVersion ?? null,
    autocannon: versionOf('autocannon'),
    undici: versionOf('undici'),
    jose: versionOf('jose'),
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    otherProcessesCoresAtStart: otherLoadAtStart,
    otherProcessesMaxCores: Math.round(otherLoad.maxCores * 100) / 100,
    pinning: ctx.pinning,
  },
  gateway: { ...gitInfo(root), startCommand: `node ${[...(ctx.gateway?.nodeFlags ?? []), 'dist/main.js'].join(' ')}` },
  baseline: ctx.baseline,
  settings: opts,
  scenarios: results,
  table,
};

console.log(
  `\nBackup Gateway benchmark, ${output.date}: ${cpus.length} × ${cpus[0]?.model}, Node ${process.version}${ctx.nginxVersion ? `, nginx ${ctx.nginxVersion}` : ''}\n`,
);
console.log(table);
if (otherLoad.maxCores > 0.15) {
  console.log(
    `\nnote: other processes on this machine used up to ${otherLoad.maxCores.toFixed(2)} cores during a measured window: requests/s and latencies are noisy; CPU per request holds up better.`,
  );
}
const resultsDir = path.join(benchDir, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(
  resultsDir,
  `${partial ? 'partial-' : ''}${output.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`,
);
fs.writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
if (!partial) fs.writeFileSync(path.join(resultsDir, 'latest.json'), `${JSON.stringify(output, null, 2)}\n`);
console.log(
  `\nresults: ${path.relative(root, file)}${partial ? ' (a subset of scenarios: latest.json untouched)' : ' and bench/results/latest.json'}; budget: npm run bench:check`,
);
if (failed) {
  log(`bench: something failed; logs kept in ${tmp}`);
  process.exitCode = 1;
} else if (process.env.BENCH_KEEP_LOGS) {
  log(`bench: logs kept in ${tmp} (BENCH_KEEP_LOGS)`);
} else {
  fs.rmSync(tmp, { recursive: true, force: true });
}

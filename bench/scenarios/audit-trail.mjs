// Scenario 17 (bench/README.md): issue 21's audit trail at 10,000,000 entries (BENCH_TRAIL_ENTRIES), in SQLite and in PostgreSQL
// (BENCH_TRAIL_STORES=sqlite,postgres). The trail is generated straight into the store (lib/audit-trail-data.mjs: a
// year of runs over 20 appliances and 40 callers, every entry sealed with the project's sealEntry) and cached between
// runs (the SQLite file under the OS temp dir, the PostgreSQL schema in the database bench_audit_trail). A gateway is
// started on it with lib/loop-monitor.mjs preloaded, on every core (from 2026-12-07, thirteenth session; one before),
// and measured one phase at a time, each request after the last:
//   - GET /audit/events by appliance and a time range (1 hour to 30 days anywhere in the year), pages of 100;
//   - by actor and outcome (every outcome, the rare ones too), pages of 100;
//   (each of the two: BENCH_TRAIL_QUERIES requests, or as many as BENCH_TRAIL_PHASE_SECONDS allow);
//   - a cursor walk: BENCH_TRAIL_WALK_PAGES consecutive pages from the newest, then 20 pages at each tenth of the
//     trail's depth (cursors made the way the API makes them: keyset on seq), unfiltered and by appliance;
//   - GET /audit/verify (entries/s), then the whole trail as NDJSON (entries/s);
//   - and, in a gateway started with audit.retentionDays set so that its start-up purge deletes the oldest 1,000,000
//     entries (a quarter of smaller trails), POST .../run at 20/s while the purge runs, then as long again after it
//     (the first second's runs, the gateway's warming, reported apart).
// BENCH_TRAIL_PHASES (queries,walk,verify,export,purge) runs a subset. Each phase reports the longest the gateway's
// main thread held its event loop. The purged prefix and the runs' entries are put back afterwards, so that the cache
// stays the generated trail.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import {
  ACTORS,
  APPLIANCES,
  OUTCOMES,
  postgresTrail,
  random,
  restorePostgres,
  restoreSqlite,
  setPostgresTrailClean,
  sqliteTrail,
  TRAIL_SPAN_MS,
  TRAIL_START,
} from '../lib/audit-trail-data.mjs';
import { noteOtherLoad } from '../lib/compare.mjs';
import { cpuMark, cpuSince } from '../lib/cpu.mjs';
import { readNdjsonExport, requestJson } from '../lib/http.mjs';
import { postgresServer } from '../lib/postgres.mjs';
import { APPLIANCE_ID, startGateway } from '../lib/servers.mjs';
import { percentileSorted } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { RUN_BODY, SCHEDULE } from '../lib/targets.mjs';

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 100;
const WINDOWS_MS = [3600_000, DAY_MS, 7 * DAY_MS, 30 * DAY_MS];
// Pages read at each depth: a depth's p50 of 20 pages at ~3 ms moved by ±1 ms from run to run (one burst of GC or
// of another process), which is the whole margin of a 1.5× line; 60 cost ~4 s more per walk.
const DEPTH_PAGES = 60;
const RUNS_PER_SECOND = 20;
const DATABASE = 'bench_audit_trail';

export async function auditTrail(ctx) {
  const { trailEntries: entries, trailStores: stores } = ctx.opts;
  const result = { entries, stores: {} };
  const rows = [];
  for (const store of stores) {
    ctx.log(`audit trail: ${fmt(entries)} entries (${store})`);
    try {
      const measured = store === 'sqlite' ? await onSqlite(ctx, entries) : await onPostgres(ctx, entries);
      result.stores[store] = measured;
      rows.push(...(measured.skipped ? [{ scenario: `audit trail (${store})`, target: '', notes: `skipped: ${measured.skipped}` }] : rowsOf(store, measured)));
    } catch (error) {
      ctx.log(`  ${store}: ${error.stack}`);
      result.stores[store] = { error: error.message };
      rows.push({ scenario: `audit trail (${store})`, target: '', notes: `ERROR: ${error.message.split('\n')[0]}` });
    }
  }
  return { result, rows };
}

async function onSqlite(ctx, entries) {
  const trail = await sqliteTrail(ctx.root, entries, ctx.log);
  const audit = { store: 'sqlite', sqlite: { path: trail.file } };
  const Database = createRequire(path.join(ctx.root, 'package.json'))('better-sqlite3');
  const open = () => {
    const db = new Database(trail.file, { readonly: true });
    return {
      anchor: async () => Number(db.prepare('SELECT anchor_seq FROM audit_chain_head WHERE id = 1').get().anchor_seq),
      lastBefore: async (cutoff) => Number(db.prepare('SELECT max(seq) AS seq FROM audit_entries WHERE time < ?').get(cutoff).seq ?? 0),
      close: async () => db.close(),
    };
  };
  const measured = await measure(ctx, { label: 'sqlite', audit, meta: trail.meta, open });
  // The purge and the runs change the file: the cache mark goes while they do, and comes back once it is restored.
  if (ctx.opts.trailPhases.includes('purge')) {
    trail.release.dirty();
    // A failed purge phase is reported as such; the phases measured before it are kept.
    measured.purge = await purgePhase(ctx, { label: 'sqlite', audit, meta: trail.meta, open }).catch((error) => {
      ctx.log(`  sqlite: purge phase: ${error.stack}`);
      return { error: error.message };
    });
    measured.restoredPrefix = await restoreSqlite(ctx.root, trail.file, entries, trail.meta.last);
    trail.release.clean();
  }
  return { ...measured, cached: trail.cached, generationMs: trail.meta.generationMs, file: path.basename(trail.file), bytes: trail.meta.bytes };
}

async function onPostgres(ctx, entries) {
  const server = postgresServer(ctx);
  if (server.skipped) return { skipped: server.skipped };
  const url = await trailDatabase(ctx, server.url);
  const trail = await postgresTrail(ctx.root, url, entries, ctx.log);
  const audit = { store: 'postgres', postgres: { url, schema: trail.schema } };
  const pg = createRequire(path.join(ctx.root, 'package.json'))('pg');
  const open = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const s = trail.schema;
    return {
      anchor: async () => Number((await client.query(`SELECT anchor_seq FROM ${s}.audit_chain_head WHERE id = 1`)).rows[0].anchor_seq),
      lastBefore: async (cutoff) =>
        Number((await client.query(`SELECT max(seq) AS seq FROM ${s}.audit_entries WHERE time < $1`, [cutoff])).rows[0].seq ?? 0),
      close: () => client.end(),
    };
  };
  const measured = await measure(ctx, { label: 'postgres', audit, meta: trail.meta, open });
  if (ctx.opts.trailPhases.includes('purge')) {
    await setPostgresTrailClean(ctx.root, url, trail.schema, undefined);
    // A failed purge phase is reported as such; the phases measured before it are kept.
    measured.purge = await purgePhase(ctx, { label: 'postgres', audit, meta: trail.meta, open }).catch((error) => {
      ctx.log(`  postgres: purge phase: ${error.stack}`);
      return { error: error.message };
    });
    measured.restoredPrefix = await restorePostgres(ctx.root, url, trail.schema, entries, trail.meta.last);
    await setPostgresTrailClean(ctx.root, url, trail.schema, trail.meta);
  }
  return {
    ...measured,
    cached: trail.cached,
    generationMs: trail.meta.generationMs,
    generatedVia: trail.meta.via,
    database: DATABASE,
    schema: trail.schema,
    urlFrom: server.from,
  };
}

/**
 * BENCH_TRAIL_POSTGRES_URL, else the bench's PostgreSQL server with the database bench_audit_trail (created when
 * missing and the role may), so that 10 million rows never land in a database the tests use.
 */
async function trailDatabase(ctx, serverUrl) {
  if (process.env.BENCH_TRAIL_POSTGRES_URL) return process.env.BENCH_TRAIL_POSTGRES_URL;
  const url = new URL(serverUrl);
  url.pathname = `/${DATABASE}`;
  const pg = createRequire(path.join(ctx.root, 'package.json'))('pg');
  const probe = new pg.Client({ connectionString: url.href });
  try {
    await probe.connect();
    return url.href;
  } catch (error) {
    if (error.code !== '3D000') throw error; // anything but "database does not exist"
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DATABASE}`);
    } catch (createError) {
      throw new Error(
        `database ${DATABASE} does not exist and cannot be created (${createError.message}): create it (owner ${url.username}) or set BENCH_TRAIL_POSTGRES_URL`,
      );
    } finally {
      await admin.end();
    }
    return url.href;
  } finally {
    await probe.end().catch(() => undefined);
  }
}

/** A gateway on the trail with the event-loop monitor preloaded; runs `work(gateway)`, stops it, returns the late turns too. */
async function withMonitoredGateway(ctx, { name, audit, readyPath }, work) {
  const loopFile = path.join(ctx.tmp, `${name}-loop.json`);
  const gateway = await startGateway(ctx, {
    name,
    readyPath,
    nodeArgs: ['--import', pathToFileURL(path.join(ctx.benchDir, 'lib', 'loop-monitor.mjs')).href],
    env: { LOOP_MONITOR_FILE: loopFile },
    extraConfig: { audit },
    // On every core, as a deployment runs it: its load is one request at a time, which takes nothing from it (the
    // servers of closed-loop scenarios are confined to one core for lib/pin.mjs's reasons). Verification walks the chain
    // on two threads.
    everyCpu: true,
  });
  let measured;
  try {
    measured = await work(gateway);
  } finally {
    await gateway.stop({ graceMs: 10_000 });
  }
  const late = JSON.parse(fs.readFileSync(loopFile, 'utf8'));
  fs.rmSync(loopFile, { force: true });
  return { measured, late, readyMs: gateway.readyMs };
}

/** The longest the event loop was held (and a timer late) within each phase's window; the windows are dropped. */
function holdsPerPhase(phases, late) {
  for (const phase of Object.values(phases)) {
    if (phase?.from === undefined) continue;
    const within = late.filter(([at]) => at >= phase.from && at <= phase.to);
    phase.longestBlockMs = Math.max(0, ...within.map(([, , onCpu]) => onCpu));
    phase.longestLateMs = Math.max(0, ...within.map(([, by]) => by));
    delete phase.from;
    delete phase.to;
  }
}

async function measure(ctx, { label, audit, meta }) {
  const { measured, late, readyMs } = await withMonitoredGateway(ctx, { name: `gateway-audit-trail-${label}`, audit }, async (gateway) => {
    const token = await ctx.idp.token({ scope: 'audit:read', expiresInSeconds: 4 * 3600 });
    await requestJson(`${gateway.url}/audit/events?limit=10`, { token, expect: 200 }); // code loaded, token cached
    const rand = random(21);
    const queries = ctx.opts.trailQueries;
    const phases = {};
    const wanted = ctx.opts.trailPhases;
    if (wanted.includes('queries')) phases.byApplianceAndTime = await timed(ctx, gateway, token, `${label}: by appliance and time range`, queries, () => {
      const windowMs = WINDOWS_MS[Math.floor(rand() * WINDOWS_MS.length)];
      const since = TRAIL_START + Math.floor(rand() * (TRAIL_SPAN_MS - windowMs));
      return `appliance=${pick(rand, APPLIANCES)}&since=${iso(since)}&until=${iso(since + windowMs)}`;
    });
    if (wanted.includes('queries')) phases.byActorAndOutcome = await timed(ctx, gateway, token, `${label}: by actor and outcome`, queries, () => {
      return `actor=${encodeURIComponent(pick(rand, ACTORS))}&outcome=${pick(rand, OUTCOMES)}`;
    });
    if (wanted.includes('walk')) {
      phases.walk = await cursorWalk(ctx, gateway, token, label, meta.last.seq, '');
      phases.walkByAppliance = await cursorWalk(ctx, gateway, token, label, meta.last.seq, `appliance=${APPLIANCES[3]}&`);
    }
    if (wanted.includes('verify')) {
      phases.verify = await window(async () => {
        // undici's own timeouts (fetch: 300 s for the headers) would cut a verification of 10M entries short.
        const response = await request(`${gateway.url}/audit/verify`, {
          headers: { authorization: `Bearer ${token}` },
          headersTimeout: 0,
          bodyTimeout: 0,
        });
        const json = await response.body.json().catch(() => undefined);
        if (response.statusCode !== 200 || json?.ok !== true || json.count !== meta.last.seq)
          throw new Error(`GET /audit/verify answered ${response.statusCode} ${JSON.stringify(json)}, expected ok with ${meta.last.seq}`);
        return { count: json.count };
      }, gateway);
      phases.verify.entriesPerSecond = phases.verify.count / (phases.verify.ms / 1000);
      ctx.log(`  ${label}: verify ${fmt(phases.verify.ms)} ms, ${fmt(phases.verify.entriesPerSecond)} entries/s`);
    }
    if (wanted.includes('export')) {
      phases.export = await window(() => readNdjsonExport(`${gateway.url}/audit/events`, token, { timeoutMs: 0 }), gateway);
      if (phases.export.lines !== meta.last.seq) throw new Error(`the export held ${phases.export.lines} lines of ${meta.last.seq}`);
      phases.export.entriesPerSecond = phases.export.lines / (phases.export.ms / 1000);
      ctx.log(`  ${label}: export ${fmt(phases.export.ms)} ms, ${fmt(phases.export.entriesPerSecond)} entries/s`);
    }
    return phases;
  });
  holdsPerPhase(measured, late);
  return { entries: meta.last.seq, phasesRun: ctx.opts.trailPhases, readyMs, ...measured };
}

/** `count` requests one after the other, each with the query `next()` makes; latency percentiles of the 200s. */
async function timed(ctx, gateway, token, what, count, next) {
  const latencies = [];
  const found = [];
  const failures = {};
  const deadline = performance.now() + ctx.opts.trailPhaseSeconds * 1000;
  const phase = await window(async () => {
    for (let i = 0; i < count && performance.now() < deadline; i++) {
      const query = next();
      const answer = await requestJson(`${gateway.url}/audit/events?limit=${PAGE}&${query}`, { token, timeoutMs: 120_000 });
      // A refusal (a 503 when PostgreSQL's statement timeout cut the query) counts at the time it took, and is noted.
      latencies.push(answer.ms);
      if (answer.status === 200) found.push(answer.json.items.length);
      else failures[answer.status] = [...(failures[answer.status] ?? []), query];
    }
    return {};
  }, gateway);
  const summary = {
    ...phase,
    ...percentiles(latencies),
    requests: latencies.length,
    failures,
    meanItems: found.reduce((a, b) => a + b, 0) / Math.max(1, found.length),
  };
  if (latencies.length < count) ctx.log(`  ${what}: stopped after ${latencies.length} requests (BENCH_TRAIL_PHASE_SECONDS)`);
  if (Object.keys(failures).length > 0) ctx.log(`  ${what}: not 200: ${JSON.stringify(failures).slice(0, 400)}`);
  ctx.log(`  ${what}: p50 ${fmt(summary.p50, 1)} ms, p99 ${fmt(summary.p99, 1)} ms, max ${fmt(summary.max, 1)} ms`);
  return summary;
}

/**
 * A cursor pointing before `seq`, in the first form the gateway issued (`v1:` and the seq; src/audit/audit-cursor.ts),
 * which it still reads and every build measured here understands. The pages after it follow nextCursor.
 */
function seqCursor(seq) {
  return Buffer.from(`v1:${seq}`).toString('base64url');
}

/**
 * BENCH_TRAIL_WALK_PAGES pages from the newest following nextCursor, then DEPTH_PAGES consecutive pages starting at each
 * tenth of the trail (a cursor at seq = lastSeq × (1 − d)), read twice. Reports the first tenth against the last tenth
 * of the consecutive walk, and the shallowest depth against the deepest (their second reads).
 */
async function cursorWalk(ctx, gateway, token, label, lastSeq, filter) {
  const walkPages = ctx.opts.trailWalkPages;
  const consecutive = [];
  const depths = [];
  const phase = await window(async () => {
    let cursor;
    let newest;
    let oldest;
    for (let i = 0; i < walkPages; i++) {
      const answer = await page(gateway, token, filter, cursor);
      consecutive.push(answer.ms);
      newest ??= answer.json.items[0]?.seq;
      oldest = answer.json.items.at(-1)?.seq ?? oldest;
      cursor = answer.json.nextCursor;
      if (!cursor) break;
    }
    // The filter's share of the trail (from the walk), so that the deepest start still leaves DEPTH_PAGES full pages.
    const share = newest > oldest ? Math.min(1, (consecutive.length * PAGE) / (newest - oldest + 1)) : 1;
    const deepest = Math.min(lastSeq, Math.ceil((DEPTH_PAGES * PAGE) / share)) + 1;
    // Each depth's pages are read twice, and the second read is the one compared: the walk above has just read the
    // shallowest pages (they are in the database's cache) and nothing has read the deeper ones, so first reads would
    // compare a warm depth with cold ones (2026-12-07, SQLite by appliance: depth 0 2.1 ms, depths 0.1 to 1 flat at
    // 3.1–4.3 ms). The line is about the position's own cost; the first reads are reported beside it (`cold`).
    // Depth 0 is the first page, without a cursor: a cursor past the newest entry names no entry, and its page is
    // empty (until 2026-12-07 depth 0 was that one empty page).
    for (let tenth = 0; tenth <= 10; tenth++) {
      const start = tenth === 0 ? undefined : seqCursor(Math.max(deepest, Math.round(lastSeq * (1 - tenth / 10)) + 1));
      const reads = [];
      for (let read = 0; read < 2; read++) {
        let c = start;
        const ms = [];
        for (let i = 0; i < DEPTH_PAGES; i++) {
          const answer = await page(gateway, token, filter, c);
          ms.push(answer.ms);
          c = answer.json.nextCursor;
          if (!c) break;
        }
        reads.push(ms);
      }
      depths.push({ depth: tenth / 10, pages: reads[1].length, ...percentiles(reads[1]), cold: percentiles(reads[0]) });
    }
    return {};
  }, gateway);
  const tenth = Math.max(1, Math.floor(consecutive.length / 10));
  const first = percentiles(consecutive.slice(0, tenth));
  const last = percentiles(consecutive.slice(-tenth));
  const shallow = depths[0];
  const deep = depths.at(-1);
  const result = {
    ...phase,
    filter: filter.replace(/&$/, '') || 'none',
    pages: consecutive.length,
    ...percentiles(consecutive),
    firstTenthP50: first.p50,
    lastTenthP50: last.p50,
    lastOverFirst: last.p50 / first.p50,
    depths,
    deepestOverShallowest: deep.p50 / shallow.p50,
    slowdown: Math.max(last.p50 / first.p50, deep.p50 / shallow.p50),
  };
  ctx.log(
    `  ${label}: cursor walk (${result.filter}): ${result.pages} pages, first tenth p50 ${fmt(first.p50, 2)} ms → last ${fmt(last.p50, 2)} ms; depth 0 p50 ${fmt(shallow.p50, 2)} ms → depth 1 ${fmt(deep.p50, 2)} ms (first reads ${fmt(shallow.cold.p50, 2)} → ${fmt(deep.cold.p50, 2)} ms)`,
  );
  return result;
}

function page(gateway, token, filter, cursor) {
  const after = cursor ? `&cursor=${cursor}` : '';
  return requestJson(`${gateway.url}/audit/events?${filter}limit=${PAGE}${after}`, { token, expect: 200, timeoutMs: 120_000 });
}

/** The first runs after the gateway is ready, kept apart from the comparison (see purgePhase). */
const WARM_UP_MS = 1000;

/**
 * A gateway started with a retention that makes its start-up purge delete the trail's oldest quarter (at most
 * 1,000,000 entries); POST .../run at RUNS_PER_SECOND from the moment it is ready until the purge is seen to be
 * over (the anchor, read from the database, reaches the entry the purge ends at), and as long again after it. The
 * runs of the first WARM_UP_MS are the gateway's warming, reported apart.
 */
async function purgePhase(ctx, { label, audit, meta, open }) {
  // A quarter of smaller trails: at 500,000 entries a tenth was over ~1.7 s after the gateway was ready, too few
  // runs once its warming is set apart.
  const target = Math.min(1_000_000, Math.floor(meta.last.seq / 4));
  const targetTime = TRAIL_START + Math.floor(target * (TRAIL_SPAN_MS / meta.last.seq));
  const retentionDays = Math.max(1, Math.round((Date.now() - targetTime) / DAY_MS));
  const db = await open();
  try {
    const gatewayStarting = Date.now();
    const cutoff = new Date(gatewayStarting - retentionDays * DAY_MS).toISOString(); // the gateway's, within the start-up time
    const expectedAnchor = await db.lastBefore(cutoff);
    ctx.log(`  ${label}: retention purge of ${fmt(expectedAnchor)} entries (retentionDays ${retentionDays}) while runs are made`);
    let purgeEnd;
    const { measured, late, readyMs } = await withMonitoredGateway(
      ctx,
      // Started once it is live: while the SQLite purge runs, /health/ready says 503 (the store's ping times out).
      { name: `gateway-audit-trail-purge-${label}`, audit: { ...audit, retentionDays }, readyPath: '/health/live' },
      async (gateway) => {
        const ready = Date.now();
        const anchorAtReady = await db.anchor();
        const runs = pacedRuns(ctx, gateway);
        const readiness = pollReadiness(gateway);
        for (;;) {
          const anchor = await db.anchor();
          if (anchor >= expectedAnchor) break;
          if (Date.now() - ready > 30 * 60_000) throw new Error(`the purge did not reach seq ${expectedAnchor} in 30 minutes (anchor ${anchor})`);
          await sleep(50);
        }
        purgeEnd = Date.now();
        const afterMs = Math.min(60_000, Math.max(5000, purgeEnd - ready));
        await sleep(afterMs);
        const made = await runs.stop();
        const notReady = await readiness.stop();
        // A gateway's first runs pay for its own warming whether or not a purge runs (code compiled on first use,
        // PostgreSQL backends that load their catalog caches): without any purge, its first runs took 240, 216, 167
        // ... ms on PostgreSQL and 70, 36, 28 ... ms on SQLite, for ~500 ms. The runs after the purge are all warm,
        // so the runs of the first WARM_UP_MS are reported apart and not compared.
        const warmed = ready + WARM_UP_MS;
        const warmUp = made.filter((r) => r.sentAt < warmed);
        const during = made.filter((r) => r.sentAt >= warmed && r.sentAt < purgeEnd);
        const after = made.filter((r) => r.sentAt >= purgeEnd + 500);
        return {
          anchorAtReady,
          purgeMsFromStart: purgeEnd - gatewayStarting,
          purgeMsAfterReady: purgeEnd - ready,
          readyAnswers: notReady,
          warmUp: { from: ready, to: warmed, ...runStats(warmUp) },
          during: { from: warmed, to: purgeEnd, ...runStats(during) },
          after: { from: purgeEnd + 500, to: Date.now(), ...runStats(after) },
        };
      },
    );
    holdsPerPhase({ during: measured.during, after: measured.after }, late);
    const purged = (await db.anchor()) ?? 0;
    const result = { target, retentionDays, cutoff, deleted: purged, readyMs, ...measured };
    result.p99DuringOverAfter = result.during.p99 / result.after.p99;
    ctx.log(
      `  ${label}: purge of ${fmt(expectedAnchor)} entries over ${fmt(result.purgeMsFromStart)} ms from start (${fmt(result.purgeMsAfterReady)} ms after ready, anchor at ready ${fmt(result.anchorAtReady)}); runs p99 ${fmt(result.during.p99, 1)} ms during (${result.during.runs} runs after ${fmt(result.warmUp.runs)} warming the gateway, p99 ${fmt(result.warmUp.p99, 1)} ms), ${fmt(result.after.p99, 1)} ms after`,
    );
    return result;
  } finally {
    await db.close();
  }
}

/** POST .../run at RUNS_PER_SECOND, open loop, until stop(): [{ sentAt, ms, status }]. */
function pacedRuns(ctx, gateway) {
  const made = [];
  const pending = new Set();
  let stopping = false;
  const url = `${gateway.url}/appliances/${APPLIANCE_ID}/backups/schedules/${SCHEDULE}/run`;
  const headers = { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' };
  const loop = (async () => {
    const start = performance.now();
    for (let i = 0; !stopping; i++) {
      const wait = start + (i * 1000) / RUNS_PER_SECOND - performance.now();
      if (wait > 0) await sleep(wait);
      const sentAt = Date.now();
      const sent = performance.now();
      const one = request(url, { method: 'POST', headers, body: RUN_BODY, headersTimeout: 60_000, bodyTimeout: 60_000 })
        .then(async (response) => {
          await response.body.arrayBuffer();
          made.push({ sentAt, ms: performance.now() - sent, status: response.statusCode });
        })
        .catch(() => made.push({ sentAt, ms: performance.now() - sent, status: 0 }))
        .finally(() => pending.delete(one));
      pending.add(one);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      await Promise.all(pending);
      return made;
    },
  };
}

function runStats(runs) {
  const ok = runs.filter((r) => r.status === 202).map((r) => r.ms);
  const statuses = {};
  for (const r of runs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  // A run refused (503) or cut off counts at the time it took: p99 is over every run, not only the accepted ones.
  return { runs: runs.length, failed: runs.length - ok.length, statuses, ...percentiles(runs.map((r) => r.ms)), acceptedP99: percentiles(ok).p99 };
}

/** GET /health/ready every 250 ms until stop(): how many answers of each status, and the first and last 200. */
function pollReadiness(gateway) {
  const answers = {};
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const status = await fetch(`${gateway.url}/health/ready`, { signal: AbortSignal.timeout(10_000) })
        .then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        })
        .catch(() => 0);
      answers[status] = (answers[status] ?? 0) + 1;
      await sleep(250);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return answers;
    },
  };
}

/** Runs `work`, noting its window (for the event-loop monitor), wall time and the other processes' load. */
async function window(work, gateway) {
  const mark = cpuMark({ gateway: gateway.pid });
  const from = Date.now();
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  const to = Date.now();
  const { used, otherCores } = cpuSince(mark);
  noteOtherLoad(otherCores);
  return { ...result, from, to, ms, gatewayCpuMs: used.gateway / 1000, otherCores };
}

function percentiles(values) {
  const sorted = Float64Array.from(values).sort();
  return {
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    max: sorted.at(-1),
  };
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)];
const iso = (ms) => new Date(ms).toISOString();

function rowsOf(store, m) {
  const scenario = `audit trail at ${fmt(m.entries)} entries (${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'})`;
  const hold = (phase) => `event loop held ≤ ${fmt(phase.longestBlockMs, 1)} ms`;
  const latency = (target, phase, notes) => ({ scenario, target, p50: fmt(phase.p50, 2), p99: fmt(phase.p99, 2), notes: `${notes}; ${hold(phase)}` });
  const rows = [];
  if (m.byApplianceAndTime) {
    rows.push(
      latency('GET /audit/events by appliance + time range', m.byApplianceAndTime, `${m.byApplianceAndTime.requests} requests, pages of ${PAGE}, max ${fmt(m.byApplianceAndTime.max, 1)} ms`),
      latency('GET /audit/events by actor + outcome', m.byActorAndOutcome, `${m.byActorAndOutcome.requests} requests, pages of ${PAGE}, max ${fmt(m.byActorAndOutcome.max, 1)} ms`),
    );
  }
  for (const w of [m.walk, m.walkByAppliance].filter(Boolean)) {
    rows.push(
      latency(
        `cursor walk (filter: ${w.filter})`,
        w,
        `${w.pages} pages: first tenth p50 ${fmt(w.firstTenthP50, 2)} ms, last ${fmt(w.lastTenthP50, 2)} ms; depth 0 → 1 p50 ${fmt(w.depths[0].p50, 2)} → ${fmt(w.depths.at(-1).p50, 2)} ms (×${fmt(w.slowdown, 2)})`,
      ),
    );
  }
  if (m.verify) rows.push({ scenario, target: 'GET /audit/verify', rps: fmt(m.verify.entriesPerSecond), notes: `entries/s; ${fmt(m.verify.ms / 1000, 1)} s; ${hold(m.verify)}` });
  if (m.export) rows.push({ scenario, target: 'NDJSON export', rps: fmt(m.export.entriesPerSecond), notes: `entries/s; ${fmt(m.export.bytes / 1e6, 0)} MB in ${fmt(m.export.ms / 1000, 1)} s; ${hold(m.export)}` });
  if (m.purge?.error) rows.push({ scenario, target: 'POST run during a purge', notes: `ERROR: ${m.purge.error.split('\n')[0]}` });
  else if (m.purge) {
    rows.push({
      scenario,
      target: `POST run during a purge of ${fmt(m.purge.deleted)}`,
      p50: fmt(m.purge.during.p50, 2),
      p99: fmt(m.purge.during.p99, 2),
      notes: `${m.purge.during.runs} runs (${JSON.stringify(m.purge.during.statuses)}; /health/ready ${JSON.stringify(m.purge.readyAnswers)}) over ${fmt(m.purge.purgeMsAfterReady / 1000 - WARM_UP_MS / 1000, 1)} s (the first ${fmt(WARM_UP_MS / 1000)} s's ${m.purge.warmUp.runs} runs apart: p99 ${fmt(m.purge.warmUp.p99, 1)} ms) of a ${fmt(m.purge.purgeMsFromStart / 1000, 1)} s purge; after it p99 ${fmt(m.purge.after.p99, 2)} ms (${m.purge.after.runs} runs); ${hold(m.purge.during)}`,
    });
  }
  return rows;
}

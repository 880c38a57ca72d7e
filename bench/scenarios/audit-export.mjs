// Scenario 2d: the NDJSON export of 100,000 audit entries (BENCH_EXPORT_ENTRIES) streams in bounded memory
// (never the whole answer built first). A SQLite audit database is filled with a valid chain (50,000 runs: a
// `requested` and a `completed` entry each, sealed with the project's own sealEntry, inserted in one transaction:
// appending them one by one through the store would cost one fsync each), a gateway is started on it, and GET /audit/events with
// Accept: application/x-ndjson (scope audit:read) is read to the end while the gateway's VmRSS is sampled every
// 10 ms. Reported: peak RSS minus RSS just before (the goal: well under the size of the export), duration,
// entries/s, the gateway's CPU per entry; then GET /audit/verify walks the chain the export came from.
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { fillAuditDatabase } from '../lib/audit-db.mjs';
import { noteOtherLoad } from '../lib/compare.mjs';
import { cpuMark, cpuSince, rssBytes } from '../lib/cpu.mjs';
import { requestJson } from '../lib/http.mjs';
import { startGateway } from '../lib/servers.mjs';
import { fmt } from '../lib/table.mjs';

const NDJSON = 'application/x-ndjson';
const mb = (bytes) => fmt(bytes / 1e6, 1);
const RSS_SAMPLE_MS = 10;

export async function auditExport(ctx) {
  const entries = 2 * Math.round(ctx.opts.exportEntries / 2); // runs of two entries
  ctx.log(`audit export: NDJSON of ${fmt(entries)} entries`);
  const file = path.join(ctx.tmp, 'audit-export.db');
  const fillMs = await fillAuditDatabase(ctx.root, file, entries);
  ctx.log(`  ${fmt(entries)} entries written in ${fmt(fillMs)} ms`);
  const gateway = await startGateway(ctx, {
    name: 'gateway-audit-export',
    extraConfig: { audit: { store: 'sqlite', sqlite: { path: file } } },
  });
  try {
    const token = await ctx.idp.token({ scope: 'audit:read' });
    // A first page as JSON, so that the route's code is loaded before the baseline is read.
    await requestJson(`${gateway.url}/audit/events?limit=10`, { token, expect: 200 });
    const exported = await streamExport(`${gateway.url}/audit/events`, token, gateway.pid);
    if (exported.lines !== entries || exported.firstSeq !== entries || exported.lastSeq !== 1) {
      throw new Error(
        `the export held ${exported.lines} lines (seq ${exported.firstSeq} … ${exported.lastSeq}), expected ${entries} (seq ${entries} … 1)`,
      );
    }
    noteOtherLoad(exported.otherCores);
    const chain = await requestJson(`${gateway.url}/audit/verify`, { token, expect: 200, timeoutMs: 120_000 });
    const growth = exported.rssPeak - exported.rssBefore;
    const result = {
      entries,
      fillMs,
      bytes: exported.bytes,
      durationMs: exported.ms,
      entriesPerSecond: entries / (exported.ms / 1000),
      rssBeforeBytes: exported.rssBefore,
      rssPeakBytes: exported.rssPeak,
      rssPeakGrowthBytes: growth,
      rssPeakGrowthFirstTenthBytes: exported.rssPeakFirstTenth - exported.rssBefore,
      rssGrowthOverExportSize: growth / exported.bytes,
      rssSamples: exported.samples,
      gatewayCpuPerEntry: exported.cpuMicros / entries,
      otherCores: exported.otherCores,
      chain: { ...chain.json, verifyMs: chain.ms },
    };
    ctx.log(
      `  ${mb(exported.bytes)} MB in ${fmt(exported.ms)} ms; RSS ${mb(exported.rssBefore)} → peak ${mb(exported.rssPeak)} MB`,
    );
    const rows = [
      {
        scenario: `audit NDJSON export: ${fmt(entries)} entries (SQLite)`,
        target: 'gateway (log warn)',
        rps: fmt(result.entriesPerSecond),
        serverCpu: fmt(result.gatewayCpuPerEntry, 1),
        notes: `entries/s and CPU µs per entry; ${mb(exported.bytes)} MB in ${fmt(exported.ms / 1000, 2)} s; RSS peak +${mb(growth)} MB over ${mb(exported.rssBefore)} MB (+${mb(result.rssPeakGrowthFirstTenthBytes)} MB in the first tenth): ${fmt(100 * result.rssGrowthOverExportSize, 1)}% of the export's size; chain ${chain.json?.ok ? `verifies (${fmt(chain.json.count)} entries, ${fmt(chain.ms / 1000, 1)} s)` : `DOES NOT VERIFY ${JSON.stringify(chain.json)}`}`,
      },
    ];
    await gateway.stop({ graceMs: 10_000 });
    result.cappedHeap = await exportUnderHeapCap(ctx, file, entries, token);
    const capped = result.cappedHeap;
    rows.push({
      scenario: `audit NDJSON export: ${fmt(entries)} entries (SQLite)`,
      target: `gateway, heap capped at ${CAPPED_OLD_SPACE_MB} MB`,
      notes: capped.completed
        ? `completed: ${mb(capped.bytes)} MB exported by a gateway whose old space may not exceed ${CAPPED_OLD_SPACE_MB} MB; RSS peak +${mb(capped.rssPeak - capped.rssBefore)} MB`
        : `FAILED: ${capped.error}`,
    });
    return { result, rows };
  } finally {
    await gateway.stop({ graceMs: 10_000 });
    fs.rmSync(file, { force: true });
  }
}

/** Smaller than the export (and than 100,000 entries as objects): completing proves nothing holds the export. */
const CAPPED_OLD_SPACE_MB = 64;

/**
 * The same export from a gateway started with --max-old-space-size below the export's size. RSS growth alone
 * mostly shows how lazily V8 collects; this shows the bound: a gateway that buffered the export would die of
 * heap exhaustion here.
 */
async function exportUnderHeapCap(ctx, file, entries, token) {
  const gateway = await startGateway(ctx, {
    name: 'gateway-audit-export-capped',
    nodeArgs: [`--max-old-space-size=${CAPPED_OLD_SPACE_MB}`],
    extraConfig: { audit: { store: 'sqlite', sqlite: { path: file } } },
  });
  try {
    await requestJson(`${gateway.url}/audit/events?limit=10`, { token, expect: 200 });
    const exported = await streamExport(`${gateway.url}/audit/events`, token, gateway.pid);
    if (exported.lines !== entries) throw new Error(`${exported.lines} lines of ${entries}`);
    return {
      completed: true,
      oldSpaceMb: CAPPED_OLD_SPACE_MB,
      bytes: exported.bytes,
      rssBefore: exported.rssBefore,
      rssPeak: exported.rssPeak,
    };
  } catch (error) {
    return { completed: false, error: String(error?.message ?? error) };
  } finally {
    await gateway.stop({ graceMs: 10_000 }).catch(() => undefined);
  }
}

/**
 * Reads the whole NDJSON export, counting lines (the first and last parsed for their seq), while sampling the
 * gateway's RSS. Returns { lines, bytes, firstSeq, lastSeq, ms, rssBefore, rssPeak, rssPeakFirstTenth, samples,
 * cpuMicros, otherCores }.
 */
async function streamExport(url, token, pid) {
  const rssBefore = rssBytes(pid);
  let rssPeak = rssBefore;
  let rssPeakFirstTenth = rssBefore;
  let lines = 0;
  let bytes = 0;
  let samples = 0;
  let firstSeq;
  const sampler = setInterval(() => {
    const rss = rssBytes(pid) ?? 0;
    samples += 1;
    rssPeak = Math.max(rssPeak, rss);
    if (firstSeq === undefined || lines < firstSeq / 10) rssPeakFirstTenth = Math.max(rssPeakFirstTenth, rss);
  }, RSS_SAMPLE_MS);
  const mark = cpuMark({ gateway: pid });
  const started = performance.now();
  let head = '';
  let tail = '';
  try {
    const response = await request(url, {
      headers: { authorization: `Bearer ${token}`, accept: NDJSON },
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    });
    if (response.statusCode !== 200) {
      throw new Error(
        `GET /audit/events (NDJSON): ${response.statusCode} ${(await response.body.text()).slice(0, 300)}`,
      );
    }
    for await (const chunk of response.body) {
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
      tail = (tail + chunk.toString('utf8', Math.max(0, chunk.length - 4096))).slice(-8192);
      if (firstSeq === undefined) {
        head += chunk.toString('utf8', 0, 4096);
        const newline = head.indexOf('\n');
        if (newline !== -1) firstSeq = JSON.parse(head.slice(0, newline)).seq; // newest first: seq = the count
      }
    }
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - started;
  const { used, otherCores } = cpuSince(mark);
  rssPeak = Math.max(rssPeak, rssBytes(pid) ?? 0);
  const lastLine = tail.trimEnd().split('\n').at(-1);
  return {
    lines,
    bytes,
    firstSeq,
    lastSeq: JSON.parse(lastLine).seq,
    ms,
    rssBefore,
    rssPeak,
    rssPeakFirstTenth,
    samples,
    cpuMicros: used.gateway,
    otherCores,
  };
}

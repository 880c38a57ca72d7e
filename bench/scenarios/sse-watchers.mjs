// Scenario: a wall of portal tabs (issue 21, "Watchers"). BENCH_SSE_WATCHERS (10,000) Server-Sent-Event watchers over
// BENCH_SSE_JOBS (1,000) running jobs, one per simulated appliance: the issue asks for 1,000 jobs on 100 appliances,
// but an appliance runs one backup at a time (a second run is refused "already in progress", by vCenter and by the
// simulator), so the jobs are on 1,000 appliances. jobs.pollIntervalMs 1000, the per-caller stream limit raised to
// the watchers' number (as a deployment with many portal users would have it), and with it limits.maxStreams and the
// heap (--max-old-space-size 300: each open stream holds ~15 KB, 10,000 of them ~150 MB beside the fleet's).
// Steps: the jobs are started (one run per appliance), every watcher opens
// GET /appliances/{id}/backups/jobs/{jobId}/events and is counted once its first event arrives; the gateway is then
// watched for BENCH_SSE_SECONDS (15): upstream job-status requests (the simulators' counter) per job per interval,
// the gateway's RSS, its event-loop delay (prom-client's nodejs_eventloop_lag_p99_seconds over the window, read from
// /metrics on a port of its own) and a liveness probe's p99; then every job is ended at once (the simulators' /finish)
// and each watcher's `end` event is timed from that moment; once they have all left, RSS, the V8 heap in use and the
// gateway's open file descriptors are read again (after a few intervals) against the values before any watcher came.
// The heap with the streams open and after they left is read after a full collection (a heap snapshot, deleted at
// once: BENCH_SSE_KEEP_SNAPSHOTS=<dir> keeps them), so heapPerStreamBytes is what a stream holds; the gateway's CPU
// per stream opened and its share of a core while they stream are reported too.
// bench/check.mjs reads result.upstreamPerJobPerInterval, rssPeakBytes, eventLoopLagP99Ms, endLatencyMaxMs,
// pollIntervalMs, fdsAfter/fdsBefore, heapAfterBytes/heapBeforeBytes.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { cpuMicros, rssBytes } from '../lib/cpu.mjs';
import { requestJson } from '../lib/http.mjs';
import { freePort } from '../lib/procs.mjs';
import { withSimulatedFleet } from '../lib/servers.mjs';
import { median, percentileSorted } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { SCHEDULE } from '../lib/targets.mjs';

const POLL_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};
const fds = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

/**
 * A value of the gateway's Prometheus text (first sample of `name`). A connection of its own each time: a heap
 * snapshot holds the gateway's event loop for seconds, and a kept-alive connection may be closed under a request.
 */
async function metric(url, name) {
  const text = await new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () => resolve(body));
        response.on('error', reject);
      })
      .on('error', reject);
  });
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/**
 * One SSE watcher: resolves `opened` at its first event, records when `end` arrives; `close()` drops it. No retry: a
 * watcher whose stream fails counts as failed.
 */
function watch(agent, url, token) {
  const watcher = { firstAt: undefined, endAt: undefined, failed: undefined, events: 0 };
  let resolveOpened;
  watcher.opened = new Promise((resolve) => {
    resolveOpened = resolve;
  });
  const request = http.get(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
  request.on('response', (response) => {
    if (response.statusCode !== 200) {
      watcher.failed = `status ${response.statusCode}`;
      response.resume();
      resolveOpened();
      return;
    }
    response.setEncoding('utf8');
    let buffer = '';
    response.on('data', (chunk) => {
      buffer += chunk;
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        watcher.events += 1;
        watcher.firstAt ??= performance.now();
        resolveOpened();
        if (/^event: end$/m.test(event)) watcher.endAt = performance.now();
        if (/^event: error$/m.test(event)) watcher.failed = event.slice(0, 200);
        cut = buffer.indexOf('\n\n');
      }
    });
    response.on('error', () => undefined);
  });
  request.on('error', (error) => {
    watcher.failed ??= error.message;
    resolveOpened();
  });
  watcher.close = () => request.destroy();
  return watcher;
}

export async function sseWatchers(ctx) {
  const jobs = count('BENCH_SSE_JOBS', 1000);
  const appliances = jobs;
  const watchers = count('BENCH_SSE_WATCHERS', 10_000);
  const seconds = count('BENCH_SSE_SECONDS', 15);
  ctx.log(`sseWatchers: ${watchers} SSE watchers over ${jobs} running jobs on ${appliances} appliances`);
  let metricsPort;
  let snapshotDir;
  const setup = {
    name: 'gateway-sse-watchers',
    // The start command's 160 MB old space holds limits.maxStreams' default (1,000) beside the fleet: a deployment
    // raising the limit to 10,000 raises the heap with it. BENCH_SSE_OLD_SPACE_MB (300).
    // A heap snapshot on SIGUSR2 (Node's own flag) is how the bench gets a full collection before it reads the heap
    // left after the watchers: without one, V8 may keep their garbage for as long as the heap has room.
    nodeArgs: [
      `--max-old-space-size=${count('BENCH_SSE_OLD_SPACE_MB', 300)}`,
      '--heapsnapshot-signal=SIGUSR2',
      `--diagnostic-dir=${(snapshotDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sse-heap-')))}`,
    ],
    count: appliances,
    jobDurationMs: 3_600_000, // ended by /finish
    // Picked after the 1,000 simulators have their ports: picked before, one of them once took it.
    extraConfig: async () => ({
      jobs: { pollIntervalMs: POLL_MS },
      fleet: { maxAppliances: appliances },
      metrics: { enabled: true, port: (metricsPort = await freePort()) },
      limits: {
        maxInFlightPerCaller: 10_000,
        maxStreamsPerCaller: watchers,
        maxStreams: watchers,
        maxInFlightPerConnection: 1000,
        upstreamConnections: 128,
        reservedRunConnections: 64,
      },
      maxConnections: watchers + 1000,
    }),
  };
  return withSimulatedFleet(ctx, setup, async ({ sims, gateway, appliances: list }) => {
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const token = await ctx.idp.token({ scope: 'backups:run backups:read', expiresInSeconds: 3600 });
    const started = [];
    for (let i = 0; i < jobs; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, jobs - i) }, async (_, j) => {
          const appliance = list[(i + j) % list.length].id;
          const run = await requestJson(`${gateway.url}/appliances/${appliance}/backups/schedules/${SCHEDULE}/run`, {
            method: 'POST',
            token,
            body: { comment: 'bench sse watchers' },
            expect: 202,
          });
          return { appliance, jobId: run.json.job.id };
        }),
      );
      started.push(...batch);
    }
    await sleep(2 * POLL_MS);
    const rssBefore = rssBytes(gateway.pid);
    const fdsBefore = fds(gateway.pid);
    /**
     * The gateway's heap in use after a full collection: a heap snapshot (SIGUSR2) collects first and is written on
     * the gateway's main thread, so once its file appears, the next metrics answer comes after both. It is deleted.
     */
    const keep = process.env.BENCH_SSE_KEEP_SNAPSHOTS; // a directory: the snapshots are moved there, to be read
    const collectedHeap = async (label) => {
      process.kill(gateway.pid, 'SIGUSR2');
      const deadline = performance.now() + 60_000;
      while (fs.readdirSync(snapshotDir).length === 0 && performance.now() < deadline) await sleep(20);
      const heap = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
      for (const file of fs.readdirSync(snapshotDir)) {
        if (keep) fs.copyFileSync(path.join(snapshotDir, file), path.join(keep, `sse-${label}.heapsnapshot`));
        fs.rmSync(path.join(snapshotDir, file), { force: true });
      }
      return heap;
    };
    // Not collected: a heap snapshot's own memory stays with the process (malloc keeps it), which would add to the RSS
    // measured next. The heap a stream holds is measured against the collected heap after they all left.
    const heapBefore = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');

    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    const openedAt = performance.now();
    const cpuBeforeOpen = cpuMicros(gateway.pid);
    const all = [];
    for (let i = 0; i < watchers; i++) {
      const { appliance, jobId } = started[i % started.length];
      all.push(watch(agent, `${gateway.url}/appliances/${appliance}/backups/jobs/${jobId}/events`, token));
      if (i % 500 === 499) await sleep(50); // a wall of tabs opening, not one SYN flood
    }
    await Promise.race([Promise.all(all.map((w) => w.opened)), sleep(60_000)]);
    const openMs = performance.now() - openedAt;
    const open = all.filter((w) => w.firstAt !== undefined && !w.failed).length;
    const openCpuMicros = cpuMicros(gateway.pid) - cpuBeforeOpen;
    ctx.log(`  ${open} of ${watchers} watchers streaming after ${fmt(openMs)} ms`);

    // The window: upstream status requests, RSS, event-loop delay.
    await metric(metricsUrl, 'nodejs_eventloop_lag_p99_seconds'); // resets prom-client's histogram
    await sims.resetCounters();
    const rssSamples = [];
    const cpuBeforeWindow = cpuMicros(gateway.pid);
    const windowStart = performance.now();
    while (performance.now() - windowStart < seconds * 1000) {
      rssSamples.push(rssBytes(gateway.pid));
      await sleep(250);
    }
    const windowMs = performance.now() - windowStart;
    const windowCpuMicros = cpuMicros(gateway.pid) - cpuBeforeWindow;
    const lagP99 = await metric(metricsUrl, 'nodejs_eventloop_lag_p99_seconds');
    const jobGets = (await sims.stats()).total.jobGets;
    const fdsWith = fds(gateway.pid);
    const intervals = windowMs / POLL_MS;
    // What the open streams hold, live: outside the window (the snapshot holds the event loop for seconds), and
    // followed by two intervals for the streams to catch up before the jobs end.
    const heapWith = await collectedHeap('with');
    await sleep(2 * POLL_MS);

    // Every job ends now; each watcher's `end` is timed from here.
    const endedAt = performance.now();
    await sims.finishJobs();
    await Promise.race([
      (async () => {
        while (all.some((w) => w.firstAt !== undefined && !w.failed && w.endAt === undefined)) await sleep(50);
      })(),
      sleep(10 * POLL_MS),
    ]);
    const endLatencies = all
      .filter((w) => w.endAt !== undefined)
      .map((w) => w.endAt - endedAt)
      .sort((a, b) => a - b);
    const missingEnd = all.filter((w) => w.firstAt !== undefined && w.endAt === undefined).length;
    for (const w of all) w.close();
    agent.destroy();
    // BENCH_SSE_LINGER_SECONDS: time to look at the gateway after they left (a heap snapshot, say) before it stops.
    await sleep(3 * POLL_MS + 1000 * Number(process.env.BENCH_SSE_LINGER_SECONDS ?? 0));
    const watchersLeft = await metric(metricsUrl, 'backup_gateway_job_watchers');
    const fdsAfter = fds(gateway.pid);
    const rssAfter = rssBytes(gateway.pid);
    const heapAfterUncollected = await metric(metricsUrl, 'nodejs_heap_size_used_bytes');
    const heapAfter = await collectedHeap('after');
    fs.rmSync(snapshotDir, { recursive: true, force: true });

    const result = {
      appliances,
      jobs: started.length,
      watchers,
      streaming: open,
      failed: all.filter((w) => w.failed).length,
      failures: [...new Set(all.map((w) => w.failed).filter(Boolean))].slice(0, 5),
      openMs,
      // The gateway's CPU to open the streams (per stream), and its share of one core while they stream.
      openCpuMicrosPerStream: open === 0 ? undefined : openCpuMicros / open,
      windowCores: windowCpuMicros / 1000 / windowMs,
      // The heap the open streams hold, per stream (live after a full collection, with them against after them).
      heapWithBytes: heapWith,
      heapPerStreamBytes: open === 0 ? undefined : (heapWith - heapAfter) / open,
      pollIntervalMs: POLL_MS,
      windowSeconds: windowMs / 1000,
      upstreamJobGets: jobGets,
      upstreamPerJobPerInterval: jobGets / started.length / intervals,
      rssBeforeBytes: rssBefore,
      rssPeakBytes: Math.max(...rssSamples),
      rssMedianBytes: median(rssSamples),
      rssAfterBytes: rssAfter,
      heapBeforeBytes: heapBefore,
      // After a full collection (a heap snapshot), and before it.
      heapAfterBytes: heapAfter,
      heapAfterUncollectedBytes: heapAfterUncollected,
      eventLoopLagP99Ms: lagP99 === undefined ? undefined : lagP99 * 1000,
      ends: endLatencies.length,
      missingEnd,
      endLatencyP50Ms: percentileSorted(endLatencies, 50),
      endLatencyP99Ms: percentileSorted(endLatencies, 99),
      endLatencyMaxMs: endLatencies.at(-1),
      fdsBefore,
      fdsWith,
      fdsAfter,
      watchersLeft,
    };
    ctx.log(
      `  upstream ${fmt(result.upstreamPerJobPerInterval, 2)} status requests per job per interval; RSS peak ` +
        `${fmt(result.rssPeakBytes / 1e6, 1)} MB; event-loop lag p99 ${fmt(result.eventLoopLagP99Ms, 1)} ms; end p99 ` +
        `${fmt(result.endLatencyP99Ms)} ms, max ${fmt(result.endLatencyMaxMs)} ms (${missingEnd} missing); fds ` +
        `${fdsBefore} → ${fdsWith} → ${fdsAfter}; heap ${fmt(heapBefore / 1e6, 1)} → ${fmt(heapWith / 1e6, 1)} → ` +
        `${fmt(heapAfter / 1e6, 1)} MB (${fmt(result.heapPerStreamBytes / 1e3, 1)} KB a stream); CPU ` +
        `${fmt(result.openCpuMicrosPerStream)} µs a stream opened, ${fmt(result.windowCores * 100, 1)} % of a core streaming`,
    );
    const rows = [
      {
        scenario: `SSE watchers: ${fmt(watchers)} over ${fmt(started.length)} jobs on ${appliances} appliances`,
        target: 'gateway (log warn)',
        notes:
          `${open} streaming; upstream ${fmt(result.upstreamPerJobPerInterval, 2)}/job/interval; RSS peak ` +
          `${fmt(result.rssPeakBytes / 1e6, 1)} MB; loop lag p99 ${fmt(result.eventLoopLagP99Ms, 1)} ms; end max ` +
          `${fmt(result.endLatencyMaxMs)} ms; fds ${fdsBefore}/${fdsWith}/${fdsAfter}; heap ${fmt(heapBefore / 1e6, 1)}/${fmt(heapAfter / 1e6, 1)} MB; ` +
          `${fmt(result.heapPerStreamBytes / 1e3, 1)} KB heap and ${fmt(result.openCpuMicrosPerStream)} µs CPU a stream opened; ${fmt(result.windowCores * 100, 1)} % of a core streaming`,
      },
    ];
    return { result, rows };
  });
}

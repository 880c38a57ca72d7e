// An open-loop generator at a fixed rate: one request every 1/rate s, whatever the answers do
// (a closed-loop tool waits for answers and so hides queueing). Latency is measured per request
// from its send to its last body byte, with sub-millisecond resolution.
//
// Why not autocannon's overallRate for this: autocannon spreads the rate over its connections and
// each connection sends its per-second quota back to back at the start of every second, then
// waits: a burst of `connections` concurrent requests every second, whose latency depends on the
// connection count far more than on the rate (bench/README.md has the numbers).
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { cpuMark, cpuSince } from './cpu.mjs';
import { percentileSorted } from './stats.mjs';

export async function runPaced({
  url,
  method = 'GET',
  headers = {},
  body,
  rate = 500,
  durationSec = 5,
  maxInFlight = 200,
  cpuPids = {},
}) {
  const { origin, pathname, search } = new URL(url);
  const path = `${pathname}${search}`;
  const pool = new Pool(origin, { connections: maxInFlight, pipelining: 1 });
  const total = Math.round(rate * durationSec);
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  const statuses = {};
  let done = 0;
  let errors = 0;
  let inFlight = 0;
  let skipped = 0;
  let recorded = 0;
  const one = async () => {
    inFlight += 1;
    const sent = performance.now();
    try {
      const response = await pool.request({ path, method, headers, body });
      await response.body.arrayBuffer();
      const latency = performance.now() - sent;
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
      if (response.statusCode >= 200 && response.statusCode < 300) latencies[recorded++] = latency;
    } catch {
      errors += 1;
    } finally {
      inFlight -= 1;
      done += 1;
    }
  };
  const mark = cpuMark(cpuPids);
  const start = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await sleep(Math.floor(wait));
    else if (wait > 0) await new Promise((resolve) => setImmediate(resolve));
    if (inFlight >= maxInFlight) {
      skipped += 1; // the target is drowning: counted, not queued
      continue;
    }
    pending.push(one());
  }
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.race([Promise.allSettled(pending), sleep(15_000)]);
  const { used: cpu, otherCores } = cpuSince(mark);
  await pool.close().catch(() => undefined);
  const sorted = latencies.subarray(0, recorded).sort();
  const cpuPerRequest = {};
  for (const [name, micros] of Object.entries(cpu))
    cpuPerRequest[name] = micros === undefined || done === 0 ? undefined : micros / done;
  return {
    rate,
    achievedRate: total / sendSeconds,
    requests: done,
    ok: recorded,
    statuses,
    errors,
    skipped,
    unexpected: done - recorded + skipped,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: recorded ? sorted[recorded - 1] : undefined,
    cpuPerRequest,
    otherCores,
  };
}

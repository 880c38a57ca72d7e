// Load generation: autocannon, driven in-process, with CPU sampling of the server processes over
// exactly the measured window, and latency percentiles from every response (autocannon's own
// histogram keeps whole milliseconds, too coarse for sub-millisecond loopback latencies).
import autocannon from 'autocannon';
import { cpuMark, cpuSince } from './cpu.mjs';
import { percentileSorted } from './stats.mjs';

/**
 * One load run. `cpuPids` is { processName: pid }; the result's `cpuPerRequest` is
 * { processName: µs of CPU per request served in the window }. `setupRequest(request)`: called for every request
 * before it is built (autocannon's, on a copy of the defaults: set `request.headers[name]` to vary a header).
 */
export async function runLoad({
  url,
  method = 'GET',
  headers = {},
  body,
  setupRequest,
  connections = 50,
  durationSec = 5,
  overallRate,
  cpuPids = {},
  expectStatus,
}) {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses = {};
  const mark = cpuMark(cpuPids);
  const started = performance.now();
  const result = await new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        method,
        headers,
        body,
        connections,
        duration: durationSec,
        pipelining: 1,
        timeout: 10,
        overallRate,
        ...(setupRequest && { requests: [{ setupRequest }] }),
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode >= 300) return;
      if (count === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[count++] = responseTime;
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const { used: cpu, otherCores } = cpuSince(mark);
  const sorted = latencies.subarray(0, count).sort();
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  const cpuPerRequest = {};
  for (const [name, micros] of Object.entries(cpu)) {
    cpuPerRequest[name] = micros === undefined || responses === 0 ? undefined : micros / responses;
  }
  const unexpected = Object.entries(statuses)
    .filter(([status]) => (expectStatus ? Number(status) !== expectStatus : Number(status) >= 300))
    .reduce((n, [, c]) => n + c, 0);
  return {
    seconds,
    responses,
    ok: count,
    statuses,
    unexpected,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: count / seconds,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: count ? sorted[count - 1] : undefined,
    cpuPerRequest,
    otherCores,
  };
}

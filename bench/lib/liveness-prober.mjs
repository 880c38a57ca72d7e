#!/usr/bin/env node
// A process of its own that sends GET {url}/health/live at a fixed rate (open loop: one every 1000/rate ms, whatever
// the answers do, so a stalled event loop shows in every probe that waits on it) until its stdin ends, then prints
// { latencies: [ms...], errors } as one JSON line. Its own event loop does nothing else, so what it measures is the
// gateway's, not the benchmark driver's (which may be reading a large export meanwhile).
// argv: url rate
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

const [url, rateText = '100'] = process.argv.slice(2);
const intervalMs = 1000 / Number(rateText);
const { origin } = new URL(url);
const pool = new Pool(origin, { connections: 64 });
const latencies = [];
const pending = new Set();
let errors = 0;
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => {
  stopping = true;
});

const probe = async () => {
  const sent = performance.now();
  try {
    const response = await pool.request({ path: '/health/live', method: 'GET' });
    await response.body.arrayBuffer();
    if (response.statusCode === 200) latencies.push(performance.now() - sent);
    else errors += 1;
  } catch {
    errors += 1;
  }
};

await probe(); // the first request sets up the connection: not the gateway's time
latencies.length = 0;
process.stdout.write('ready\n');
const start = performance.now();
for (let i = 0; !stopping; i++) {
  const wait = start + i * intervalMs - performance.now();
  if (wait > 0) await sleep(wait);
  const one = probe().finally(() => pending.delete(one));
  pending.add(one);
}
await Promise.all(pending);
await pool.close();
process.stdout.write(`${JSON.stringify({ latencies, errors })}\n`);

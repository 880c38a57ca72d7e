#!/usr/bin/env node
// Where the gateway's CPU per run request goes by thread: the main thread (JavaScript, and the collector's work on it)
// against V8's helper threads (concurrent marking, parallel scavenges), with RSS right after the load. For weighing
// V8 flags (BENCH_GATEWAY_NODE_FLAGS) and builds (BENCH_PROJECT_ROOT) against each other: run it for each, one after
// the other, on a quiet machine. Not pinned; 50 connections of the run POST, as bench/profile.mjs loads them.
//
//   node bench/cpu-by-thread.mjs [--seconds 8] [--audit off|sqlite] [--keep]
//     (--audit sqlite: every run writes its two entries to a SQLite trail; --keep: leave the servers' logs, e.g. for
//     --trace-gc)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rssBytes, threadCpuMicros } from './lib/cpu.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { runLoad } from './lib/load.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { startGateway, startUpstream } from './lib/servers.mjs';
import { request } from './lib/targets.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    audit: { type: 'string', default: 'off' },
    keep: { type: 'boolean', default: false },
  },
});
installExitHandlers({ deadlineMs: 120_000 });
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
// What the output names the build by: never a path of this machine's, as the lines go into results files.
const label = process.env.BENCH_PROJECT_ROOT ? 'BENCH_PROJECT_ROOT' : 'this checkout';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-threads-'));
const ctx = { root, benchDir, tmp };
try {
  ctx.idp = await startIdentityProvider();
  ctx.upstream = await startUpstream(ctx);
  if (values.audit !== 'off' && values.audit !== 'sqlite') throw new Error('--audit off|sqlite');
  ctx.gateway = await startGateway(ctx, {
    name: 'gateway-threads',
    level: 'warn',
    extraConfig:
      values.audit === 'sqlite' ? { audit: { store: 'sqlite', sqlite: { path: path.join(tmp, 'audit.db') } } } : {},
  });
  const { gateway } = ctx;
  ctx.token = await ctx.idp.token();
  const load = request(ctx, 'run', 'gateway'); // the hot path's POST run, as the benchmark sends it
  await runLoad({ ...load, durationSec: 3 }); // warm-up (JIT)
  const before = threadCpuMicros(gateway.pid);
  const result = await runLoad({ ...load, durationSec: Number(values.seconds), cpuPids: { gateway: gateway.pid } });
  const after = threadCpuMicros(gateway.pid);
  const rss = rssBytes(gateway.pid);
  const rows = new Map();
  for (const [tid, now] of after) {
    const then = before.get(tid) ?? { user: 0, system: 0 };
    const key = tid === String(gateway.pid) ? 'main thread' : 'other threads';
    const row = rows.get(key) ?? { user: 0, system: 0, threads: 0 };
    row.user += now.user - then.user;
    row.system += now.system - then.system;
    row.threads++;
    rows.set(key, row);
  }
  const perRequest = (micros) => (micros / result.responses).toFixed(0).padStart(5);
  console.log(
    `${label}${process.env.BENCH_GATEWAY_NODE_FLAGS ? ` [${process.env.BENCH_GATEWAY_NODE_FLAGS}]` : ''}: ${result.rps.toFixed(0)} req/s, CPU ${result.cpuPerRequest.gateway.toFixed(0)} µs/request, RSS after start ${(gateway.rssAfterStart / 1e6).toFixed(0)} MB, after the load ${(rss / 1e6).toFixed(0)} MB`,
  );
  for (const [name, row] of rows)
    console.log(
      `  ${name.padEnd(14)} (${row.threads})  user ${perRequest(row.user)} µs/request  system ${perRequest(row.system)} µs/request`,
    );
  await gateway.stop({ graceMs: 15_000 });
} finally {
  await ctx.upstream?.stop();
  await ctx.idp?.close();
  if (values.keep) console.log(`logs: ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

#!/usr/bin/env node
// Which V8 flags suit the gateway: for each flag set, a gateway under the hot-path POST load, rounds alternating
// between the sets, reporting CPU µs per request and RSS after the load.
//   BENCH_PROJECT_ROOT=... node bench/flags-experiment.mjs '' '--max-semi-space-size=16' ...
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssBytes } from './lib/cpu.mjs';
import { startIdentityProvider } from './lib/jwt.mjs';
import { runLoad } from './lib/load.mjs';
import { installExitHandlers } from './lib/procs.mjs';
import { APPLIANCE_ID, startGateway, startUpstream } from './lib/servers.mjs';
import { RUN_BODY } from './lib/targets.mjs';

installExitHandlers({ deadlineMs: 600_000 });
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.env.BENCH_PROJECT_ROOT ?? path.dirname(benchDir));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-flags-'));
const ctx = { root, benchDir, tmp };
const sets = process.argv.slice(2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
try {
  ctx.idp = await startIdentityProvider();
  ctx.upstream = await startUpstream(ctx);
  const token = await ctx.idp.token();
  const gateways = [];
  for (const [i, flags] of sets.entries()) {
    gateways.push(await startGateway(ctx, { name: `gw${i}`, nodeArgs: flags.split(/\s+/).filter(Boolean) }));
  }
  const results = sets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, gateway] of gateways.entries()) {
      const load = {
        url: `${gateway.url}/appliances/${APPLIANCE_ID}/backups/schedules/default/run`,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: RUN_BODY,
      };
      if (round === 0) await runLoad({ ...load, durationSec: 2 });
      const r = await runLoad({ ...load, durationSec: 5, cpuPids: { gateway: gateway.pid } });
      results[i].push(r.cpuPerRequest.gateway);
      console.log(
        `round ${round + 1} [${sets[i] || 'default'}] ${r.rps.toFixed(0)} req/s ${r.cpuPerRequest.gateway.toFixed(0)} µs/req`,
      );
    }
  }
  for (const [i, gateway] of gateways.entries()) {
    const sorted = [...results[i]].sort((a, b) => a - b);
    console.log(
      `[${sets[i] || 'default'}] median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} µs/req, RSS after start ${(gateway.rssAfterStart / 2 ** 20).toFixed(0)} MB, after load ${(rssBytes(gateway.pid) / 2 ** 20).toFixed(0)} MB, ready ${gateway.readyMs.toFixed(0)} ms`,
    );
    await gateway.stop();
  }
} finally {
  await ctx.upstream?.stop();
  await ctx.idp?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Scenario 6: footprint. RSS (VmRSS) of the main gateway process after start-up and after the
// load of the earlier scenarios, and the time from spawning `node dist/main.js` to the first
// 200 on /health/ready, over every gateway start of the run plus a few fresh starts. Each fresh
// start is paired with one of dist/main-unbundled.js (the same build, loaded module by module,
// as before tools/bundle-gateway.mjs), so the bundle's gain is a ratio measured in one run.
import fs from 'node:fs';
import path from 'node:path';
import { quietMachine, rssBytes } from '../lib/cpu.mjs';
import { startGateway } from '../lib/servers.mjs';
import { median } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';

const FRESH_STARTS = 3;
// Each fresh start waits (up to this long) for the servers the load scenarios left running to settle: a start that
// shares its core with their GC and timers measures them too (1.3 s against 1.03 s before the load, 2026-12-06).
const QUIET_CORES = 0.1;
const QUIET_MAX_SECONDS = 15;

export async function footprint(ctx) {
  ctx.log('footprint: RSS and time to ready');
  const rssAfterLoad = rssBytes(ctx.gateway.pid);
  const starts = [ctx.gateway, ctx.gatewayInfo]
    .filter(Boolean)
    .map((g) => ({ readyMs: g.readyMs, rssAfterStart: g.rssAfterStart }));
  const unbundled = [];
  const unbundledEntry = 'dist/main-unbundled.js';
  const hasUnbundled = fs.existsSync(path.join(ctx.root, unbundledEntry));
  for (let i = 0; i < FRESH_STARTS; i++) {
    const otherCores = await quietMachine({ cores: QUIET_CORES, maxSeconds: QUIET_MAX_SECONDS });
    const gateway = await startGateway(ctx, { name: `gateway-start-${i + 1}` });
    starts.push({ readyMs: gateway.readyMs, rssAfterStart: gateway.rssAfterStart, otherCoresBefore: otherCores });
    await gateway.stop({ graceMs: 10_000 });
    if (!hasUnbundled) continue;
    const modules = await startGateway(ctx, { name: `gateway-start-unbundled-${i + 1}`, entry: unbundledEntry });
    unbundled.push({ readyMs: modules.readyMs, rssAfterStart: modules.rssAfterStart });
    await modules.stop({ graceMs: 10_000 });
  }
  const freshBundled = starts.slice(-FRESH_STARTS).map((s) => s.readyMs);
  const result = {
    rssAfterStartBytes: ctx.gateway.rssAfterStart,
    rssAfterHotPathBytes: ctx.gatewayRssAfterHotPath,
    rssAfterLoadBytes: rssAfterLoad,
    readyMs: median(starts.map((s) => s.readyMs)),
    readyMsMax: Math.max(...starts.map((s) => s.readyMs)),
    starts,
    // The same build loaded module by module (dist/main-unbundled.js), started in turn with the fresh starts above.
    unbundled: hasUnbundled
      ? {
          readyMs: median(unbundled.map((s) => s.readyMs)),
          starts: unbundled,
          bundledOverUnbundled: median(freshBundled) / median(unbundled.map((s) => s.readyMs)),
        }
      : undefined,
    // For reference, not the budget: the earlier build as its own `npm start` ran it (its V8 flags, not today's).
    baseline: ctx.gatewayBaseline
      ? {
          rssAfterStartBytes: ctx.gatewayBaseline.rssAfterStart,
          rssAfterHotPathBytes: ctx.baselineRssAfterHotPath,
          readyMs: ctx.gatewayBaseline.readyMs,
          startCommand: ctx.baseline.startCommand,
        }
      : ctx.baseline,
  };
  const mb = (b) => fmt(b / 1e6, 1);
  const rows = [
    {
      scenario: 'footprint',
      target: 'gateway (log warn)',
      notes: `RSS after start ${mb(result.rssAfterStartBytes)} MB, after load ${mb(result.rssAfterLoadBytes)} MB; ready in ${fmt(result.readyMs)} ms (median of ${starts.length} starts, max ${fmt(result.readyMsMax)} ms; other load before the fresh starts ≤ ${fmt(Math.max(...starts.map((s) => s.otherCoresBefore ?? 0)), 2)} cores)`,
    },
  ];
  if (result.unbundled)
    rows.push({
      scenario: 'footprint',
      target: 'same build, unbundled',
      notes: `ready in ${fmt(result.unbundled.readyMs)} ms (median of ${unbundled.length} starts, each after a bundled one); bundled / unbundled ${fmt(result.unbundled.bundledOverUnbundled, 2)}×`,
    });
  if (ctx.gatewayBaseline)
    rows.push({
      scenario: 'footprint',
      target: `baseline build ${ctx.baseline.commit?.slice(0, 7)}`,
      notes: `RSS after start ${mb(result.baseline.rssAfterStartBytes)} MB, after the hot path ${mb(result.baseline.rssAfterHotPathBytes)} MB; ready in ${fmt(result.baseline.readyMs)} ms (one start); ${ctx.baseline.startCommand}`,
    });
  return { result, rows };
}

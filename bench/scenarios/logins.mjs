// Scenario 3: logins under load. Ten appliance simulators (the project's ApplianceSimulator, one
// child process) behind a fresh gateway; 500 concurrent runs spread over the ten appliances, twice:
// on the fresh gateway (no session yet), and right after every session expired at the appliances
// (each request then meets a 401, the gateway logs in again and replays once). Logins counted at
// the simulators must be exactly 10 each time: one per appliance, however many requests wait.
import { Pool } from 'undici';
import { countsText } from '../lib/http.mjs';
import { withSimulatedFleet } from '../lib/servers.mjs';
import { percentileSorted } from '../lib/stats.mjs';
import { fmt } from '../lib/table.mjs';
import { RUN_BODY, SCHEDULE } from '../lib/targets.mjs';

const APPLIANCES = 10;
const REQUESTS = 500;

async function burst(gateway, ids, token) {
  const pool = new Pool(gateway.url, { connections: REQUESTS, pipelining: 1 });
  const statuses = {};
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const sent = performance.now();
        try {
          const response = await pool.request({
            path: `/appliances/${ids[i % ids.length]}/backups/schedules/${SCHEDULE}/run`,
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: RUN_BODY,
            headersTimeout: 30_000,
            bodyTimeout: 30_000,
          });
          await response.body.arrayBuffer();
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          latencies.push(performance.now() - sent);
        } catch {
          errors += 1;
        }
      }),
    );
  } finally {
    await pool.close().catch(() => undefined);
  }
  latencies.sort((a, b) => a - b);
  return {
    wallMs: performance.now() - started,
    statuses,
    errors,
    p50: percentileSorted(latencies, 50),
    p99: percentileSorted(latencies, 99),
  };
}

export async function loginsUnderLoad(ctx) {
  ctx.log(`logins under load: ${REQUESTS} concurrent runs across ${APPLIANCES} simulators`);
  const fleet = { name: 'gateway-logins', count: APPLIANCES, jobDurationMs: 60_000 };
  return withSimulatedFleet(ctx, fleet, async ({ sims, gateway, appliances }) => {
    const ids = appliances.map((a) => a.id);
    const phases = {};
    for (const phase of ['freshGateway', 'afterExpiry']) {
      if (phase === 'afterExpiry') {
        await sims.expireSessions(); // every token the gateway holds is now dead at the appliances
        await sims.finishJobs();
        await sims.resetCounters();
      }
      const result = await burst(gateway, ids, ctx.token);
      const stats = await sims.stats();
      const perAppliance = stats.appliances.map((a) => a.logins);
      phases[phase] = {
        requests: REQUESTS,
        appliances: APPLIANCES,
        logins: stats.total.logins,
        loginAttempts: stats.total.loginAttempts,
        loginsPerAppliance: { min: Math.min(...perAppliance), max: Math.max(...perAppliance) },
        maxConcurrentLoginsPerAppliance: stats.total.maxConcurrentLogins,
        runsAtAppliances: stats.total.runs,
        ...result,
      };
      ctx.log(
        `  ${phase}: logins ${stats.total.logins} (expected ${APPLIANCES}), statuses ${JSON.stringify(result.statuses)}, errors ${result.errors}, ${result.wallMs.toFixed(0)} ms`,
      );
    }
    const rows = Object.entries(phases).map(([phase, p]) => ({
      scenario: `logins: ${REQUESTS} concurrent runs, ${APPLIANCES} appliances`,
      target: phase === 'freshGateway' ? 'fresh gateway' : 'after every session expired',
      p50: fmt(p.p50, 1),
      p99: fmt(p.p99, 1),
      notes: `logins ${p.logins} (expected ${APPLIANCES}); answers ${countsText(p.statuses)}${p.errors ? ` errors ${p.errors}` : ''}; wall ${fmt(p.wallMs)} ms`,
    }));
    return { result: { expected: APPLIANCES, phases }, rows };
  });
}

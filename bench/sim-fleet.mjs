#!/usr/bin/env node
// N appliance simulators (the project's ApplianceSimulator, from dist-tools/simulator after `npm run build`)
// in one process, plus a small control server for the benchmark:
//   GET /stats  → { total: { logins, loginAttempts, runs, jobGets, requests, maxConcurrentLogins }, appliances: [...] }
//   POST /expire → every session on every simulator ends (as after an appliance restart)
//   POST /reset  → counters to zero;   POST /finish → running jobs end now
// Env: SIM_COUNT (10), SIM_USER, SIM_PASSWORD, SIM_LATENCY_MS (0: added to every request),
//      SIM_JOB_DURATION_MS (3000), SIM_TARGETS (0: every schedule at the simulator's default location). Prints {"urls": [...], "control": "http://127.0.0.1:N"} once listening.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.env.PROJECT_ROOT ?? process.cwd();
const { ApplianceSimulator } = await import(
  pathToFileURL(path.join(root, 'dist-tools/simulator/appliance-simulator.js')).href
);

const count = Number(process.env.SIM_COUNT ?? 10);
const latencyMs = Number(process.env.SIM_LATENCY_MS ?? 0);
// SIM_TARGETS=N: appliance i backs up to nas-(i mod N) (its schedule's location), for fleet runs in waves.
const targets = Number(process.env.SIM_TARGETS ?? 0);
const schedulesOf = (i) =>
  targets > 0
    ? {
        default: {
          parts: ['seat'],
          location: `sftp://nas-${i % targets}.bench.test/vcsa/${i}`,
          location_user: 'backup',
          enable: true,
        },
      }
    : undefined;
const simulators = Array.from(
  { length: count },
  (_, i) =>
    new ApplianceSimulator({
      username: process.env.SIM_USER ?? 'bench@vsphere.local',
      password: process.env.SIM_PASSWORD ?? 'bench-password',
      jobDurationMs: Number(process.env.SIM_JOB_DURATION_MS ?? 3000),
      maxRecordedRequests: 1000,
      schedules: schedulesOf(i),
    }),
);
for (const sim of simulators) {
  await sim.start();
  if (latencyMs > 0) sim.faults.set({ kind: 'latency', ms: latencyMs });
}

const KEYS = [
  'requests',
  'loginAttempts',
  'logins',
  'failedLogins',
  'runs',
  'jobsStarted',
  'jobGets',
  'rejectedSessions',
  'logouts',
];
function stats() {
  const appliances = simulators.map((sim) => ({ url: sim.url, ...sim.counters }));
  const total = Object.fromEntries(KEYS.map((k) => [k, appliances.reduce((n, a) => n + a[k], 0)]));
  total.maxConcurrentLogins = Math.max(...appliances.map((a) => a.maxConcurrentLogins));
  total.openSessions = simulators.reduce((n, sim) => n + sim.openSessions(), 0);
  return { total, appliances };
}

const control = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    let answer = {};
    if (req.method === 'GET' && req.url === '/stats') answer = stats();
    else if (req.method === 'POST' && req.url === '/expire') for (const sim of simulators) sim.expireAllSessions();
    else if (req.method === 'POST' && req.url === '/reset') for (const sim of simulators) sim.resetCounters();
    else if (req.method === 'POST' && req.url === '/finish') for (const sim of simulators) sim.finishRunningJobs();
    else {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
});
control.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ urls: simulators.map((s) => s.url), control: `http://127.0.0.1:${control.address().port}` })}\n`,
  );
});

const shutdown = () => {
  control.close();
  void Promise.allSettled(simulators.map((sim) => sim.stop())).then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

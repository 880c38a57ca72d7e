/**
 * `npm run soak [-- --duration-seconds 180]`: the built gateway as a process, in front of two simulated appliances
 * and an identity provider, all on loopback, under a mix of valid runs and reads, hostile input, callers without
 * (good) credentials, flooding and slow clients, while appliance faults come and go. Then it checks what must hold
 * after any amount of that: no 500 at all, the audit chain verifies, every run answered 202 has its `requested` and
 * `completed` entries, and the gateway's memory and file descriptors are back near where they were before the load.
 * Prints a summary; exits 1 when a check fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApplianceSimulator } from '../simulator/appliance-simulator.js';
import { SoakFaults } from './soak-faults.js';
import { type ProcessSample, type SettledSample, SoakGateway } from './soak-gateway.js';
import { SOAK_AUDIENCE, SoakIdentityProvider } from './soak-identity-provider.js';
import { SoakTally } from './soak-tally.js';
import { type SoakCallers, SoakTraffic } from './soak-traffic.js';

const USAGE = `usage: soak.js [--duration-seconds 180] [--workers 12] [--warmup-seconds 15] [--settle-seconds 15]
               [--rss-tolerance-mb 64] [--heap-tolerance-mb 16] [--fd-tolerance 8] [--keep]`;

const { values } = parseArgs({
  options: {
    'duration-seconds': { type: 'string' },
    workers: { type: 'string' },
    'warmup-seconds': { type: 'string' },
    'settle-seconds': { type: 'string' },
    'rss-tolerance-mb': { type: 'string' },
    'fd-tolerance': { type: 'string' },
    'heap-tolerance-mb': { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number\n${USAGE}`);
  return parsed;
}

const durationMs = positive('duration-seconds', values['duration-seconds'], 180) * 1000;
const workers = positive('workers', values.workers, 12);
const warmupMs = positive('warmup-seconds', values['warmup-seconds'], 15) * 1000;
const settleMs = positive('settle-seconds', values['settle-seconds'], 15) * 1000;
/**
 * After the load and the settle, RSS may exceed the warmed-up baseline by this much: V8 keeps part of the heap it grew
 * into under load and returns it lazily, while per-request state that leaked (tens of thousands of requests) would
 * outgrow it. File descriptors: the same sockets, pools and files as before, give or take a few keep-alive
 * connections to the appliances still closing.
 */
const rssToleranceMb = positive('rss-tolerance-mb', values['rss-tolerance-mb'], 64);
const fdTolerance = positive('fd-tolerance', values['fd-tolerance'], 8);
/** The heap still in use after full collections: what a leak would grow. Caches bounded by size stay below this. */
const heapToleranceMb = positive('heap-tolerance-mb', values['heap-tolerance-mb'], 16);

const USER = 'soak-svc@vsphere.local';
const PASSWORD = randomBytes(12).toString('hex');
const API_KEY = `soak-${randomBytes(16).toString('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'gateway-soak-'));
const appliances = ['vc-a', 'vc-b'].map((id) => ({
  id,
  sim: new ApplianceSimulator({ username: USER, password: PASSWORD, jobDurationMs: 1500, maxRecordedRequests: 100 }),
}));
const idp = new SoakIdentityProvider();
let gateway: SoakGateway | undefined;
let traffic: SoakTraffic | undefined;

function log(line: string): void {
  process.stderr.write(`soak: ${line}\n`);
}

async function main(): Promise<boolean> {
  await idp.start();
  for (const { sim } of appliances) await sim.start();
  gateway = new SoakGateway({
    dir,
    issuer: idp.issuer,
    audience: SOAK_AUDIENCE,
    jwksUri: idp.jwksUri,
    apiKey: API_KEY,
    appliances: appliances.map(({ id, sim }) => ({ id, url: sim.url, username: USER, password: PASSWORD })),
    applianceTimeoutMs: 1500,
    requestTimeoutMs: 5000,
  });
  await gateway.start();
  log(`gateway ${gateway.url} (pid ${gateway.pid}), appliances ${appliances.map((a) => a.sim.url).join(', ')}`);

  const lifetime = Math.ceil((warmupMs + durationMs + settleMs) / 1000) + 600;
  const everything = 'backups:run backups:read audit:read';
  const callers: SoakCallers = {
    runners: await Promise.all(
      [0, 1, 2, 3].map((i) => idp.token({ sub: `soak-runner-${i}`, scope: everything }, lifetime)),
    ),
    reader: await idp.token({ sub: 'soak-reader', scope: 'backups:read' }, lifetime),
    auditor: await idp.token({ sub: 'soak-auditor', scope: 'audit:read' }, lifetime),
    narrow: await idp.token({ sub: 'soak-narrow', scope: `backups:run:${appliances[0].id}` }, lifetime),
    nobody: await idp.token({ sub: 'soak-nobody', scope: 'openid profile' }, lifetime),
    flooder: await idp.token({ sub: 'soak-flooder', scope: 'backups:read backups:run' }, lifetime),
    forged: await idp.forged({ sub: 'soak-mallory', scope: everything }),
    expired: await idp.expired({ sub: 'soak-runner-0', scope: everything }),
    apiKey: API_KEY,
  };

  // Warm-up: the same traffic without appliance faults, so that the baseline is a gateway that has been busy (sessions,
  // pools, compiled code, caches, a heap grown to its working size), then a settle.
  const warmupTally = new SoakTally();
  const warmup = new SoakTraffic(
    gateway.url,
    appliances.map((a) => a.id),
    callers,
    warmupTally,
  );
  await drive(warmup, Date.now() + warmupMs);
  await warmup.close();
  await settle();
  const before = await gateway.settled();
  log(
    `baseline after a ${warmupMs / 1000} s warm-up: RSS ${before.rssMb} MB, heap ${before.heapMb} MB, ${before.fds} fds`,
  );

  const tally = new SoakTally();
  traffic = new SoakTraffic(
    gateway.url,
    appliances.map((a) => a.id),
    callers,
    tally,
  );
  const faults = new SoakFaults(appliances);
  const started = Date.now();
  const until = started + durationMs;
  let peak: ProcessSample = before;
  const timeline: string[] = [];
  const sampler = setInterval(() => {
    const now = gateway?.sample();
    if (now && now.rssMb > peak.rssMb) peak = now;
    if (now && timeline.length < Math.floor((Date.now() - started) / 30_000)) timeline.push(`${now.rssMb}`);
  }, 1000);
  await Promise.all([drive(traffic, until), faults.run(until, 5000, started)]);
  const elapsedMs = Date.now() - started;
  clearInterval(sampler);
  for (const { sim } of appliances) {
    sim.faults.clear();
    sim.finishRunningJobs();
  }

  // Checks that read the trail go first: their own requests are part of what then has to settle.
  const verify = await traffic.send('check', {
    method: 'GET',
    path: '/audit/verify',
    headers: { authorization: `Bearer ${callers.auditor}` },
  });
  const chain = verify?.status === 200 ? (JSON.parse(verify.body) as { ok: boolean; count: number }) : undefined;
  const missing = await unpairedRuns(traffic, callers.auditor, tally.acceptedRuns);
  await traffic.close();
  await settle();
  const after = await gateway.settled();

  const checks: [string, boolean, string][] = [
    ['no 500 answers', tally.withStatus(500) === 0, `${tally.withStatus(500)} answered 500`],
    [
      'every ordinary request answered',
      tally.withStatus('client-error') === 0,
      `${tally.withStatus('client-error')} not answered`,
    ],
    [
      'the audit chain verifies',
      chain?.ok === true,
      chain ? `${JSON.stringify(chain)}` : `verify answered ${verify?.status}`,
    ],
    [
      'every accepted run has its requested and completed entries',
      missing.length === 0,
      `${tally.acceptedRuns.length - missing.length} of ${tally.acceptedRuns.length} paired${missing.length > 0 ? `; missing: ${missing.slice(0, 5).join(', ')}` : ''}`,
    ],
    [
      `RSS back near its baseline (+${rssToleranceMb} MB)`,
      after.rssMb <= before.rssMb + rssToleranceMb,
      `${before.rssMb} → ${after.rssMb} MB (peak ${peak.rssMb} MB)`,
    ],
    [
      `heap in use after a full GC back near its baseline (+${heapToleranceMb} MB)`,
      after.heapMb <= before.heapMb + heapToleranceMb,
      `${before.heapMb} → ${after.heapMb} MB`,
    ],
    [
      `file descriptors back near their baseline (+${fdTolerance})`,
      after.fds <= before.fds + fdTolerance,
      `${before.fds} → ${after.fds}`,
    ],
  ];
  const exitCode = await gateway.stop();
  checks.push(['the gateway exits 0 on SIGTERM afterwards', exitCode === 0, `exit code ${exitCode}`]);

  report({ elapsedMs, tally, before, after, peak, timeline, faults, checks });
  return checks.every(([, ok]) => ok);
}

/** `workers` loops drawing from the mix, plus one flooding caller and one slow client, until `until`. */
async function drive(traffic: SoakTraffic, until: number): Promise<void> {
  const loops = Array.from({ length: workers }, async () => {
    while (Date.now() < until) await traffic.draw();
  });
  loops.push(
    (async () => {
      for (let i = 0; Date.now() < until; i++) {
        await (i % 2 === 0 ? traffic.pipeline(24) : traffic.burst(64));
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })(),
    (async () => {
      while (Date.now() < until) await traffic.trickle(400, 15_000);
    })(),
  );
  await Promise.all(loops);
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, settleMs));
}

/** The accepted runs whose `requested` or accepted `completed` entry is not in the trail. */
async function unpairedRuns(traffic: SoakTraffic, auditor: string, requestIds: string[]): Promise<string[]> {
  const missing: string[] = [];
  const queue = [...requestIds];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let requestId = queue.shift(); requestId !== undefined; requestId = queue.shift()) {
        const answer = await traffic.send('check', {
          method: 'GET',
          path: `/audit/events?requestId=${encodeURIComponent(requestId)}`,
          headers: { authorization: `Bearer ${auditor}` },
        });
        const items = answer?.status === 200 ? (JSON.parse(answer.body) as { items: AuditItem[] }).items : [];
        const requested = items.find((e) => e.stage === 'requested');
        const completed = items.find((e) => e.stage === 'completed' && e.requestedId === requested?.id);
        if (!requested || completed?.outcome !== 'accepted') missing.push(requestId);
      }
    }),
  );
  return missing;
}

interface AuditItem {
  id: string;
  stage: string;
  outcome: string | null;
  requestedId: string | null;
}

function report(r: {
  elapsedMs: number;
  tally: SoakTally;
  before: SettledSample;
  after: SettledSample;
  peak: ProcessSample;
  timeline: string[];
  faults: SoakFaults;
  checks: [string, boolean, string][];
}): void {
  const seconds = r.elapsedMs / 1000;
  const lines = [
    '',
    `Soak: ${seconds.toFixed(0)} s of load (+${warmupMs / 1000} s warm-up, ${settleMs / 1000} s settles), ${workers} workers,` +
      ` ${r.tally.total()} answers (${(r.tally.total() / seconds).toFixed(0)}/s)`,
    `Runs accepted (202): ${r.tally.acceptedRuns.length}`,
    `Faults injected: ${r.faults.summary()}`,
    '',
    'By status:',
    `  ${r.tally
      .byStatus()
      .map(([status, n]) => `${status}: ${n}`)
      .join('   ')}`,
    '',
    'By kind (kind, total, status×count):',
    ...r.tally.kindLines().map((line) => `  ${line}`),
    '',
    `Gateway (after a settle and two full GCs): RSS ${r.before.rssMb} MB before, ${r.after.rssMb} MB after` +
      ` (peak ${r.peak.rssMb} MB; every 30 s: ${r.timeline.join(', ')}); heap in use ${r.before.heapMb} → ${r.after.heapMb} MB;` +
      ` fds ${r.before.fds} → ${r.after.fds}`,
    '',
    'Checks:',
    ...r.checks.map(([name, ok, detail]) => `  ${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`),
    ...(r.tally.failures.length > 0 ? ['', 'Failures:', ...r.tally.failures.map((f) => `  ${f}`)] : []),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

let passed = false;
try {
  passed = await main();
} catch (error) {
  log(`aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await traffic?.close().catch(() => undefined);
  await gateway?.stop().catch(() => undefined);
  await Promise.all(appliances.map(({ sim }) => sim.stop()));
  await idp.stop();
  if (values.keep || !passed) log(`kept ${dir} (gateway.log, gateway.yaml, audit.db)`);
  else rmSync(dir, { recursive: true, force: true });
}
process.exit(passed ? 0 : 1);

import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { assertBuildIsFresh } from '../../support/built.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { APPLIANCE_ENV, processDocument, stopGateway } from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';

const RUN = '/appliances/vc-a/backups/schedules/default/run';
/**
 * The claim's lease is 2 × the slowest appliance timeout + 10 s (IdempotentRuns.leaseMs): 12 s here. A short timeout
 * keeps the wait for the lease within the suite's budget.
 */
const APPLIANCE_TIMEOUT_MS = 1000;
/** Polling a live key every 25 ms (waitFor) would write hundreds of audit entries on shared cores: poll gently. */
const POLL_MS = 250;

interface RunReply {
  status: number;
  code?: string;
  jobId?: string;
  replayed: string | null;
  retryAfter: string | null;
}

/**
 * Idempotency-Key claims outliving the gateway process that took them: real `node dist/main.js` processes over real
 * HTTP, one SQLite file per test shared by the gateway that dies and the one started after it.
 */
describe('Idempotency-Key claims across gateway restarts (real processes, one SQLite file)', () => {
  const gateways: GatewayProcess[] = [];
  const dirs: string[] = [];
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let authorization: string;

  beforeAll(async () => {
    assertBuildIsFresh('dist/main.js');
    idp = await new IdentityProvider().start();
    // Jobs outlive the test unless ended by hand, so the appliance refuses a second backup while the first runs.
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 600_000 });
    await sim.start();
    authorization = `Bearer ${await idp.token({ scope: 'backups:run', sub: 'portal' })}`;
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => stopGateway(gateway, 'SIGKILL')));
    await sim?.stop();
    await idp?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    sim.faults.clear();
    sim.finishRunningJobs();
    sim.resetCounters();
  });

  /** A config of its own (and so a SQLite file of its own) for one test; returns the config path and the database's. */
  function newConfig(): { configPath: string; dbPath: string } {
    const document = processDocument(idp, { 'vc-a': sim });
    const appliances = (document.appliances as Record<string, unknown>[]).map((appliance) => ({
      ...appliance,
      timeoutMs: APPLIANCE_TIMEOUT_MS,
    }));
    const configPath = writeConfig({ ...document, appliances });
    dirs.push(dirname(configPath));
    return { configPath, dbPath: join(dirname(configPath), 'audit.db') };
  }

  async function start(configPath: string): Promise<GatewayProcess> {
    const gateway = await spawnGateway(configPath, APPLIANCE_ENV);
    gateways.push(gateway);
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(200);
    return gateway;
  }

  async function run(gateway: GatewayProcess, key: string): Promise<RunReply> {
    const response = await fetch(`${gateway.url}${RUN}`, {
      method: 'POST',
      headers: { authorization, 'idempotency-key': key, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await response.json()) as { code?: string; job?: { id: string } };
    return {
      status: response.status,
      code: body.code,
      jobId: body.job?.id,
      replayed: response.headers.get('idempotent-replayed'),
      retryAfter: response.headers.get('retry-after'),
    };
  }

  async function poll<T>(attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await attempt();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  function keyRows(dbPath: string): { idempotency_key: string; caller: string; state: string; lease_until: string }[] {
    const db = new Database(dbPath, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      return db
        .prepare('SELECT idempotency_key, caller, state, lease_until FROM idempotency_keys ORDER BY idempotency_key')
        .all() as ReturnType<typeof keyRows>;
    } finally {
      db.close();
    }
  }

  it("a SIGKILL with a claimed key: after the claim's lease the retry takes the key over and learns the truth from the appliance", async () => {
    const { configPath, dbPath } = newConfig();
    const first = await start(configPath);

    // The appliance starts the job and never answers: the claim is held by a request that is about to die.
    sim.faults.set({ kind: 'hang', path: /action=run/, phase: 'after' });
    const inFlight = run(first, 'crash-key').catch(() => undefined);
    await poll(
      async () => sim.counters.jobsStarted,
      (started) => started === 1,
      5000,
    );
    // Before the gateway's own 1 s timeout, which would release the key and prove nothing about leases.
    await stopGateway(first, 'SIGKILL');
    expect(await inFlight).toBeUndefined();
    // From here on the appliance answers; its first job still runs.
    sim.faults.clear();

    const [claim] = keyRows(dbPath);
    expect(claim).toMatchObject({ idempotency_key: 'crash-key', state: 'in_progress' });

    const second = await start(configPath);
    const early = await run(second, 'crash-key');
    expect(early).toMatchObject({ status: 409, code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS' });
    expect(early.retryAfter).not.toBeNull();
    expect(sim.counters.runs).toBe(1);

    // Without a working takeover the key would stay in progress for its whole ttl (24 h), not 12 s.
    const retry = await poll(
      () => run(second, 'crash-key'),
      (reply) => reply.code !== 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
      20_000,
    );
    // Not taken before the dead owner's lease ended (the database's clock is this machine's).
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(claim.lease_until));
    // The retry reached the appliance, which refuses a second backup while the first runs: no duplicate job.
    expect(retry).toMatchObject({ status: 409, code: 'BACKUP_IN_PROGRESS', replayed: null });
    expect(sim.counters.runs).toBe(2);
    expect(sim.counters.jobsStarted).toBe(1);

    // BACKUP_IN_PROGRESS is not final, so the key is free again once the first job ends.
    expect(sim.finishRunningJobs()).toBe(1);
    const accepted = await run(second, 'crash-key');
    expect(accepted).toMatchObject({ status: 202, replayed: null, jobId: expect.any(String) });
    expect(sim.counters.jobsStarted).toBe(2);
    // And that 202 is the key's answer from now on.
    expect(await run(second, 'crash-key')).toMatchObject({ status: 202, replayed: 'true', jobId: accepted.jobId });
    expect(sim.counters.jobsStarted).toBe(2);
  }, 60_000);

  it('expired keys are purged at start-up', async () => {
    const { configPath, dbPath } = newConfig();
    const first = await start(configPath);
    expect(await run(first, 'kept-key')).toMatchObject({ status: 202 });
    await stopGateway(first);

    // An answer kept past its ttl, as a gateway that was down when its daily purge was due leaves it.
    const [kept] = keyRows(dbPath);
    expect(kept).toMatchObject({ idempotency_key: 'kept-key', state: 'done' });
    const db = new Database(dbPath, { fileMustExist: true });
    try {
      db.prepare(
        `INSERT INTO idempotency_keys
           (caller, idempotency_key, fingerprint, state, response_status, response_headers, response_body, entry_id,
            created_at, expires_at, owner, lease_until, members)
         VALUES (?, 'expired-key', 'f', 'done', 202, '{}', '{}', '', '2019-12-31T00:00:00.000Z',
                 '2020-01-01T00:00:00.000Z', NULL, NULL, NULL)`,
      ).run(kept.caller);
    } finally {
      db.close();
    }
    expect(keyRows(dbPath).map((row) => row.idempotency_key)).toEqual(['expired-key', 'kept-key']);

    // No request names the expired key: only the start-up purge can remove it.
    await start(configPath);
    const left = await poll(
      async () => keyRows(dbPath).map((row) => row.idempotency_key),
      (keys) => !keys.includes('expired-key'),
      10_000,
    );
    expect(left).toEqual(['kept-key']);
  }, 60_000);
});

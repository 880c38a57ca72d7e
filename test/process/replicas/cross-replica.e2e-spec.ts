import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { auditClient, byRequestId } from '../../support/audit-client.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER } from '../../support/fixture.js';
import { type GatewayProcess, spawnGateway, writeConfig } from '../../support/gateway-process.js';
import { APPLIANCE_ENV, stopGateway } from '../../support/gateway-processes.js';
import { IdentityProvider } from '../../support/identity-provider.js';
import { describePostgres, dropSchema, freshSchema } from '../../support/postgres.js';
import { startRedis, type TestRedis } from '../../support/redis-server.js';
import { waitFor } from '../../support/wait-for.js';

const POLL_MS = 500;
const REPLICAS = 3;

/**
 * Three gateway processes on one PostgreSQL (audit, idempotency keys) and one Redis (rate limits, job polling), in
 * front of the appliance simulator: what replicas share must hold across them, and losing one replica, or Redis,
 * must cost no record and no outage.
 */
describePostgres('three replicas sharing PostgreSQL and Redis', (postgresUrl) => {
  const schema = freshSchema('replicas');
  let idp: IdentityProvider;
  let sim: ApplianceSimulator;
  let redis: TestRedis;
  let replicas: GatewayProcess[];
  let configPath: string;
  let auditor: string;

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    sim = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD, jobDurationMs: 3000 });
    await sim.start();
    redis = await startRedis();
    configPath = writeConfig({
      auth: { jwt: idp.jwtConfig() },
      appliances: [{ id: 'vc-a', url: sim.url, username: '${VC_USER}', password: '${VC_PASSWORD}', timeoutMs: 5000 }],
      audit: { store: 'postgres', postgres: { url: postgresUrl, schema } },
      redis: { url: redis.url },
      jobs: { pollIntervalMs: POLL_MS },
      rateLimit: { runsPerMinute: 1000, readsPerMinute: 30 },
      logging: { level: 'info' },
      shutdownGraceMs: 2000,
    });
    replicas = [];
    for (let i = 0; i < REPLICAS; i++) replicas.push(await spawnGateway(configPath, APPLIANCE_ENV));
    for (const replica of replicas) await waitFor(() => replica.output().includes('redis connected'), 10_000);
    auditor = `Bearer ${await idp.token({ sub: 'auditor', scope: 'audit:read' })}`;
  }, 120_000);
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => stopGateway(replica)));
    await redis.stop();
    await sim.stop();
    await idp.stop();
    await dropSchema(postgresUrl, schema);
  }, 60_000);
  beforeEach(() => {
    sim.faults.clear();
    sim.finishRunningJobs();
    sim.resetCounters();
  });

  const live = () => replicas.filter((replica) => replica.child.exitCode === null && replica.child.signalCode === null);

  it('the same Idempotency-Key sent to two replicas at the same instant starts exactly one backup', async () => {
    const token = `Bearer ${await idp.token({ sub: 'portal-1', scope: 'backups:run' })}`;
    sim.faults.set({ kind: 'latency', ms: 300, path: /action=run/ });
    const send = (replica: GatewayProcess) =>
      request(replica.url)
        .post('/appliances/vc-a/backups/schedules/default/run')
        .set('authorization', token)
        .set('idempotency-key', 'double-click-42')
        .send({ comment: 'from two tabs' });
    const answers = await Promise.all([send(replicas[0]), send(replicas[1])]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(sim.counters.runs).toBe(1);
    // Any replica replays the stored answer afterwards.
    const replay = await send(replicas[2]);
    expect(replay.status).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(sim.counters.runs).toBe(1);
  });

  it('the audit chain stays valid under concurrent runs on every replica, each with both entries', async () => {
    const token = `Bearer ${await idp.token({ sub: 'scheduler', scope: 'backups:run' })}`;
    sim.jobOutcome = 'SUCCEEDED';
    const runs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        request(replicas[i % REPLICAS].url)
          .post('/appliances/vc-a/backups/schedules/default/run')
          .set('authorization', token)
          .set('x-request-id', `concurrent-${i}`)
          .send({}),
      ),
    );
    // One backup at a time on a vCenter: one 202, the rest 409 BACKUP_IN_PROGRESS; every one on record.
    expect(runs.filter((r) => r.status === 202)).toHaveLength(1);
    const audit = auditClient(replicas[2].url, auditor);
    const byRequest = byRequestId((await audit.export()).events);
    for (let i = 0; i < 30; i++) {
      const entries = byRequest.get(`concurrent-${i}`);
      expect({ i, requested: entries?.requested.length, completed: entries?.completed.length }).toEqual({
        i,
        requested: 1,
        completed: 1,
      });
    }
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('rate limits hold across replicas', async () => {
    const token = `Bearer ${await idp.token({ sub: 'dashboard', scope: 'backups:read' })}`;
    const statuses: number[] = [];
    for (let i = 0; i < 33; i++) {
      statuses.push(
        (
          await request(replicas[i % REPLICAS].url)
            .get('/appliances')
            .set('authorization', token)
        ).status,
      );
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429, 429]);
  });

  it('200 watchers spread over the replicas cost the appliance at most one status request per poll interval', async () => {
    const starter = `Bearer ${await idp.token({ sub: 'starter', scope: 'backups:run' })}`;
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => idp.token({ sub: `watcher-${i}`, scope: 'backups:read' })),
    );
    const run = await request(replicas[0].url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', starter)
      .send({})
      .expect(202);
    const jobId = run.body.job.id;
    sim.resetCounters();
    const started = Date.now();
    let answers = 0;
    const watch = async (token: string, i: number) => {
      for (;;) {
        const response = await request(replicas[i % REPLICAS].url)
          .get(`/appliances/vc-a/backups/jobs/${jobId}`)
          .set('authorization', `Bearer ${token}`);
        expect(response.status).toBe(200);
        answers++;
        if (response.body.job.state !== 'INPROGRESS') return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await Promise.all(tokens.map(watch));
    const elapsed = Date.now() - started;
    expect(answers).toBeGreaterThan(10 * sim.counters.jobGets);
    // One request per interval for the whole cluster (+1: the boundary a window of whole intervals may hold).
    expect(sim.counters.jobGets).toBeLessThanOrEqual(Math.ceil(elapsed / POLL_MS) + 1);
  });

  it('a replica killed mid-run loses no record: the others keep serving, and the run reads unknown', async () => {
    const token = `Bearer ${await idp.token({ sub: 'nightly', scope: 'backups:run' })}`;
    sim.faults.set({ kind: 'hang', path: /action=run/, phase: 'after' });
    const victim = replicas[1];
    const lost = request(victim.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', token)
      .set('x-request-id', 'killed-mid-run')
      .send({})
      .then(
        (r) => r.status,
        () => 'no answer',
      );
    await waitFor(() => sim.counters.runs === 1, 5000);
    await stopGateway(victim, 'SIGKILL');
    expect(await lost).toBe('no answer');
    sim.faults.clear();
    for (const replica of live()) {
      await request(replica.url).get('/health/ready').expect(200);
    }
    const audit = auditClient(replicas[0].url, auditor);
    const { requested, completed } = await audit.forRequest('killed-mid-run');
    expect(requested).toHaveLength(1);
    expect(completed).toHaveLength(0);
    expect(requested[0].finalOutcome).toBe('unknown');
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('Redis going away degrades to per-replica limits and polling with a warning, never to an outage', async () => {
    const token = `Bearer ${await idp.token({ sub: 'ops', scope: 'backups:run backups:read' })}`;
    const [first, second] = live();
    await redis.stop();
    await waitFor(() => first.output().includes('redis unavailable'), 10_000);
    sim.finishRunningJobs();
    const run = await request(first.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', token)
      .send({})
      .expect(202);
    for (const replica of [first, second]) {
      await request(replica.url)
        .get(`/appliances/vc-a/backups/jobs/${run.body.job.id}`)
        .set('authorization', token)
        .expect(200);
      await request(replica.url).get('/appliances').set('authorization', token).expect(200);
      await request(replica.url).get('/health/ready').expect(200);
    }
    expect(first.output()).toMatch(/fall back to this replica/);
  });
});

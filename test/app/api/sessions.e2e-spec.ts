import request from 'supertest';
import { RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

const RUN_PATH = /action=run/;

/** The vAPI session: lazy single-flight login, one replay after a 401, and never a second backup. */
describe('appliance sessions and replays', () => {
  let world: World;
  let auth: string;

  beforeAll(async () => {
    world = await startWorld({ applianceConfig: { 'vc-a': { timeoutMs: 500 } } });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    const sim = world.appliances['vc-a'];
    sim.faults.clear();
    sim.finishRunningJobs();
    sim.resetCounters();
  });

  const sim = () => world.appliances['vc-a'];
  const run = () =>
    request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', auth)
      .send({});
  const schedules = () =>
    request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', auth);
  const job = (id: string) =>
    request(world.gateway.url).get(`/appliances/vc-a/backups/jobs/${id}`).set('authorization', auth);

  it('logs in lazily once and reuses the session', async () => {
    const first = await run().expect(202);
    sim().finishRunningJobs();
    await run().expect(202);
    for (let i = 0; i < 3; i++) await job(first.body.job.id).expect(200);
    expect(sim().counters.logins).toBeLessThanOrEqual(1);
    expect(sim().openSessions()).toBe(1);
  });

  it('after the session expired mid-way: exactly one new login and exactly one run reaches the appliance', async () => {
    await run().expect(202);
    sim().finishRunningJobs();
    sim().expireAllSessions();
    sim().resetCounters();
    await run().expect(202);
    expect(sim().counters.logins).toBe(1);
    expect(sim().counters.rejectedSessions).toBe(1);
    expect(sim().counters.runs).toBe(2); // the refused one (401, not executed) and the replay
    expect(sim().counters.jobsStarted).toBe(1);
  });

  it('50 concurrent requests after expiry cause exactly one login', async () => {
    await run().expect(202);
    sim().expireAllSessions();
    sim().resetCounters();
    const responses = await Promise.all(Array.from({ length: 50 }, () => schedules()));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(sim().counters.logins).toBe(1);
    expect(sim().counters.loginAttempts).toBe(1);
  });

  it('50 concurrent requests on a cold gateway cause exactly one login', async () => {
    const { startGateway } = await import('../../support/gateway.js');
    const gateway = await startGateway(
      {
        auth: { jwt: world.idp.jwtConfig() },
        appliances: [{ id: 'vc-a', url: sim().url, username: '${U}', password: '${P}' }],
      },
      { U: 'svc-backup@vsphere.local', P: 'Appl1ance-Pa55word-do-not-leak' },
    );
    try {
      const first = await run().expect(202);
      sim().resetCounters();
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          request(gateway.url).get(`/appliances/vc-a/backups/jobs/${first.body.job.id}`).set('authorization', auth),
        ),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(sim().counters.loginAttempts).toBe(1);
      expect(sim().counters.maxConcurrentLogins).toBe(1);
    } finally {
      await gateway.close();
    }
  });

  it('never replays a run after a timeout: one run reached the appliance, the caller hears the outcome is unknown', async () => {
    sim().faults.set({ kind: 'hang', path: RUN_PATH, phase: 'after', times: 1 });
    const response = await run();
    expect(response.status).toBe(504);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sim().counters.runs).toBe(1);
    expect(sim().counters.jobsStarted).toBe(1);
  });

  it('never replays a run after a reset connection or a 5xx', async () => {
    for (const fault of [
      { kind: 'reset', path: RUN_PATH, phase: 'after' },
      { kind: 'status', status: 500, path: RUN_PATH, phase: 'after' },
      { kind: 'status', status: 503, path: RUN_PATH },
    ] as const) {
      sim().faults.set({ ...fault, times: 1 });
      sim().resetCounters();
      const response = await run();
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(sim().counters.runs).toBe(1);
      sim().finishRunningJobs();
    }
  });

  it('does not replay a run twice when the appliance refuses the fresh session too', async () => {
    sim().faults.set({ kind: 'status', status: 401, errorType: 'UNAUTHENTICATED', path: RUN_PATH });
    const response = await run();
    expect(response.status).toBe(502);
    expect(response.body.code).toBe('APPLIANCE_AUTH_FAILED');
    expect(sim().counters.runs).toBe(2);
    expect(sim().counters.jobsStarted).toBe(0);
  });

  it('retries a read after a reset connection', async () => {
    await schedules().expect(200);
    sim().resetCounters();
    sim().faults.set({ kind: 'reset', path: /backup\/schedules/, times: 1 });
    await schedules().expect(200);
    expect(sim().counters.scheduleLists).toBe(2);
  });
});

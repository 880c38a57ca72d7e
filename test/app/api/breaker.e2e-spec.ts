import request from 'supertest';
import { RUN_AND_READ, startWorld, World } from '../../support/fixture.js';

/** The per-appliance circuit breaker opens, fails fast, and closes again. */
describe('circuit breaker', () => {
  let world: World;
  let auth: string;

  beforeAll(async () => {
    world = await startWorld({
      applianceConfig: { 'vc-a': { timeoutMs: 300 }, 'vc-b': { timeoutMs: 300 } },
      extra: { breaker: { consecutiveFailures: 3, halfOpenAfterMs: 800 } },
    });
    auth = `Bearer ${await world.idp.token(RUN_AND_READ)}`;
  });
  afterAll(() => world.stop());

  const run = (appliance = 'vc-a') =>
    request(world.gateway.url)
      .post(`/appliances/${appliance}/backups/schedules/default/run`)
      .set('authorization', auth);

  it('opens after consecutive connection failures, fails fast with Retry-After, and closes after a good half-open call', async () => {
    const sim = world.appliances['vc-a'];
    await run().expect(202);
    sim.finishRunningJobs();
    await sim.stop(); // connection refused from now on

    for (let i = 0; i < 3; i++) {
      const refused = await run();
      expect(refused.body).toMatchObject({ code: 'APPLIANCE_UNAVAILABLE' });
      expect(refused.body.detail).toMatch(/ECONNREFUSED/);
    }
    await sim.start(); // back, but the circuit is open
    sim.resetCounters();
    const fast = await run();
    expect(fast.status).toBe(503);
    expect(fast.body.detail).toMatch(/fail fast/);
    expect(Number(fast.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(sim.counters.requests).toBe(0);

    // The other appliance is untouched by vc-a's circuit.
    await run('vc-b').expect(202);

    await new Promise((resolve) => setTimeout(resolve, 900));
    await run().expect(202);
    sim.finishRunningJobs();
    await run().expect(202);
    expect(sim.counters.jobsStarted).toBe(2);
  });

  it('errors from a live appliance never open it: answers are not connection failures', async () => {
    const sim = world.appliances['vc-b'];
    sim.finishRunningJobs();
    sim.faults.set({ kind: 'status', status: 500, path: 'action=run' });
    for (let i = 0; i < 5; i++) expect((await run('vc-b')).body.code).toBe('APPLIANCE_ERROR');
    sim.faults.clear();
    await run('vc-b').expect(202);
    sim.finishRunningJobs();
  });

  it('counts timeouts: three in a row open it, and the next call fails fast without reaching the appliance', async () => {
    const sim = world.appliances['vc-b'];
    sim.faults.set({ kind: 'hang', path: 'action=run' });
    for (let i = 0; i < 3; i++) expect((await run('vc-b')).body.code).toBe('APPLIANCE_TIMEOUT');
    sim.faults.clear();
    sim.resetCounters();
    const fast = await run('vc-b');
    expect(fast.status).toBe(503);
    expect(fast.body.detail).toMatch(/fail fast/);
    expect(sim.counters.requests).toBe(0);
  });
});

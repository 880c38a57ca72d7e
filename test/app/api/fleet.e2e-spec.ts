import request from 'supertest';
import { ApplianceSimulator } from '../../../tools/simulator/appliance-simulator.js';
import { APPLIANCE_PASSWORD, APPLIANCE_USER, startWorld, type World } from '../../support/fixture.js';
import { startGateway, TestGateway } from '../../support/gateway.js';
import { IdentityProvider } from '../../support/identity-provider.js';

const FLEET = 50;
const CONCURRENCY = 10;
const LATENCY_MS = 200;

/** Most requests to a path the simulators saw at once, from their arrival times and the injected latency. */
function maxOverlap(arrivals: number[], durationMs: number): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j < sorted.length && sorted[j] < sorted[i] + durationMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('fleet-wide runs', () => {
  let idp: IdentityProvider;
  let sims: ApplianceSimulator[];
  let hanging: ApplianceSimulator;
  let deadPort: number;
  let gateway: TestGateway;
  let auth: string;

  beforeAll(async () => {
    idp = await new IdentityProvider().start();
    // Each on a backup target of its own: this suite is about fleet.concurrency, not fleet.perTargetConcurrency
    // (fleet-waves.e2e-spec.ts).
    sims = Array.from(
      { length: FLEET },
      (_, i) =>
        new ApplianceSimulator({
          username: APPLIANCE_USER,
          password: APPLIANCE_PASSWORD,
          schedules: { default: { parts: ['seat'], location: `sftp://nas-${i}.example.test/vcsa`, enable: true } },
        }),
    );
    hanging = new ApplianceSimulator({ username: APPLIANCE_USER, password: APPLIANCE_PASSWORD });
    await Promise.all([...sims, hanging].map((s) => s.start()));
    hanging.faults.set({ kind: 'hang', path: 'action=run' });
    deadPort = 1; // privileged: nothing listens, and no other test can take it meanwhile
    const appliance = (id: string, url: string, tags: string[], extra = {}) => ({
      id,
      url,
      username: APPLIANCE_USER,
      password: APPLIANCE_PASSWORD,
      tags,
      timeoutMs: 3000,
      ...extra,
    });
    gateway = await startGateway({
      auth: { jwt: idp.jwtConfig() },
      // Suites here count what reaches the appliances: no background status probes.
      fleet: { concurrency: CONCURRENCY, backgroundProbes: false },
      appliances: [
        ...sims.map((sim, i) =>
          appliance(`vc-${String(i).padStart(2, '0')}`, sim.url, i % 2 === 0 ? ['prod', 'even'] : ['prod', 'odd']),
        ),
        appliance('vc-hang', hanging.url, ['broken'], { timeoutMs: 1500 }),
        appliance('vc-dead', `http://127.0.0.1:${deadPort}`, ['broken']),
      ],
    });
    auth = `Bearer ${await idp.token({ scope: 'backups:run backups:read' })}`;
  }, 60_000);
  afterAll(async () => {
    await gateway.close();
    await Promise.all([...sims, hanging].map((s) => s.stop()));
    await idp.stop();
  });
  beforeEach(() => {
    for (const sim of sims) {
      sim.finishRunningJobs();
      sim.resetCounters();
      sim.clearRequests();
      sim.faults.clear();
    }
  });

  const fleetRun = (body: Record<string, unknown>, authorization = auth) =>
    request(gateway.url).post('/backups/runs').set('authorization', authorization).send(body);

  it('runs on 50 appliances concurrency at a time: about ceil(50/10) call times, not their sum', async () => {
    for (const sim of sims) sim.faults.set({ kind: 'latency', ms: LATENCY_MS, path: 'action=run' });
    const started = Date.now();
    const response = await fleetRun({ schedule: 'default', tags: ['prod'], comment: 'quarterly' });
    const elapsed = Date.now() - started;

    expect(response.status).toBe(207);
    expect(response.body.results).toHaveLength(FLEET);
    expect(
      response.body.results.every(
        (r: { status: number; job?: { state: string } }) => r.status === 202 && r.job?.state === 'INPROGRESS',
      ),
    ).toBe(true);
    expect(sims.every((sim) => sim.counters.jobsStarted === 1)).toBe(true);
    expect(sims[7].requests.find((r) => r.path.includes('action=run'))?.json).toEqual({ comment: 'quarterly' });
    expect(sims[7].requests.find((r) => r.path.includes('action=run'))?.headers['x-request-id']).toBe(
      `${response.body.requestId}.vc-07`,
    );

    const arrivals = sims.flatMap((sim) =>
      sim.requests.filter((r) => r.path.includes('action=run')).map((r) => r.receivedAt),
    );
    expect(maxOverlap(arrivals, LATENCY_MS)).toBeLessThanOrEqual(CONCURRENCY);
    const ideal = Math.ceil(FLEET / CONCURRENCY) * LATENCY_MS; // 1 s
    expect(elapsed).toBeGreaterThanOrEqual(ideal);
    expect(elapsed).toBeLessThan(FLEET * LATENCY_MS * 0.75); // far from the 10 s a sequential run takes
  });

  it('a hanging and a dead appliance cost only their own timeout; the others succeed', async () => {
    const started = Date.now();
    const response = await fleetRun({
      schedule: 'default',
      appliances: ['vc-hang', 'vc-dead', 'vc-01', 'vc-02', 'vc-03'],
    });
    const elapsed = Date.now() - started;
    const byId = Object.fromEntries(response.body.results.map((r: { appliance: string }) => [r.appliance, r]));
    expect(byId['vc-hang']).toMatchObject({
      status: 504,
      problem: { code: 'APPLIANCE_TIMEOUT', appliance: 'vc-hang' },
    });
    expect(byId['vc-dead']).toMatchObject({ status: 503, problem: { code: 'APPLIANCE_UNAVAILABLE' } });
    for (const id of ['vc-01', 'vc-02', 'vc-03']) expect(byId[id].status).toBe(202);
    expect(elapsed).toBeLessThan(1500 + 1000);
  });

  it('answers 403 results for named appliances the caller may not use, and sends them nothing', async () => {
    const scoped = `Bearer ${await idp.token({ scope: 'backups:run:vc-00 backups:run:vc-02' })}`;
    // Named, not by tag: a tag selects only appliances the caller may see (below).
    const response = await fleetRun({ schedule: 'default', appliances: ['vc-00', 'vc-02', 'vc-04'] }, scoped);
    expect(response.status).toBe(207);
    const statuses = Object.fromEntries(
      response.body.results.map((r: { appliance: string; status: number }) => [r.appliance, r.status]),
    );
    expect(statuses['vc-00']).toBe(202);
    expect(statuses['vc-02']).toBe(202);
    expect(statuses['vc-04']).toBe(403);
    expect(response.body.results[2].problem).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect(sims[4].counters.requests).toBe(0);
    expect(sims.filter((s) => s.counters.jobsStarted > 0)).toHaveLength(2);
  });

  it('reports unknown appliances and per-appliance refusals as results, and rejects bad selections', async () => {
    sims[1].faults.set({ kind: 'status', status: 400, errorType: 'FEATURE_IN_USE', path: 'action=run' });
    const response = await fleetRun({ schedule: 'default', appliances: ['vc-01', 'vc-nope'] });
    expect(response.body.results).toEqual([
      expect.objectContaining({
        appliance: 'vc-01',
        status: 409,
        problem: expect.objectContaining({ code: 'BACKUP_IN_PROGRESS' }),
      }),
      expect.objectContaining({
        appliance: 'vc-nope',
        status: 404,
        problem: expect.objectContaining({ code: 'APPLIANCE_NOT_FOUND' }),
      }),
    ]);
    expect((await fleetRun({ schedule: 'default' })).status).toBe(400);
    expect((await fleetRun({ schedule: 'default', appliances: ['vc-01'], tags: ['prod'] })).status).toBe(400);
    expect((await fleetRun({ schedule: 'default', tags: ['nonexistent'] })).body.code).toBe('VALIDATION_FAILED');
    expect((await fleetRun({ schedule: '../x', appliances: ['vc-01'] })).status).toBe(400);
    expect((await fleetRun({ schedule: 'default', appliances: ['../x'] })).status).toBe(400);
    const readOnly = `Bearer ${await idp.token({ scope: 'backups:read' })}`;
    expect((await fleetRun({ schedule: 'default', appliances: ['vc-01'] }, readOnly)).status).toBe(403);
  });

  it('shows each appliance live status, filtered by tag, probing each at most once in a while', async () => {
    const response = await request(gateway.url).get('/appliances?tag=broken').set('authorization', auth).expect(200);
    expect(response.body.items).toEqual([
      // Its last call (the run above) timed out.
      expect.objectContaining({ id: 'vc-hang', status: 'unreachable', lastError: 'APPLIANCE_TIMEOUT' }),
      expect.objectContaining({
        id: 'vc-dead',
        status: 'unreachable',
        lastError: 'APPLIANCE_UNAVAILABLE',
        lastCheckedAt: expect.any(String),
      }),
    ]);
    sims[5].expireAllSessions();
    sims[5].faults.set({ kind: 'rejectCredentials' });
    const prod = await request(gateway.url).get('/appliances?tag=odd').set('authorization', auth).expect(200);
    expect(prod.body.items).toHaveLength(FLEET / 2);
    // vc-05 was last seen fine by the fleet run: the status is the last call's, no probe while it is fresh.
    expect(prod.body.items.find((a: { id: string }) => a.id === 'vc-05').status).toBe('ok');
    expect(sims[5].counters.requests).toBe(0);
  });
});

/** A tag is a word about appliances: a fleet run by tag tells a caller only about appliances it may see. */
describe('fleet runs by tag, within what the caller may see', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(); // vc-a tagged prod, vc-b tagged lab
  });
  afterAll(() => world.stop());

  const fleet = async (scope: string, tags: string[]) =>
    request(world.gateway.url)
      .post('/backups/runs')
      .set('authorization', `Bearer ${await world.idp.token({ sub: 'team-a', scope })}`)
      .send({ schedule: 'default', tags });

  it('selects only appliances the caller may read or run, and never names the others', async () => {
    const own = await fleet('backups:run:vc-a', ['prod', 'lab']);
    expect(own.status).toBe(207);
    expect(own.body.results.map((r: { appliance: string }) => r.appliance)).toEqual(['vc-a']);
    const elsewhere = await fleet('backups:run:vc-a', ['lab']);
    expect(elsewhere.status).toBe(400);
    expect(JSON.stringify(elsewhere.body)).not.toContain('vc-b');
    expect(world.appliances['vc-b'].counters.runs).toBe(0);
  });

  it('a caller without run scope learns nothing about tags: the same 403 for a tag that exists and one that does not', async () => {
    const existing = await fleet('backups:read', ['lab']);
    const missing = await fleet('backups:read', ['no-such-tag']);
    expect([existing.status, missing.status]).toEqual([403, 403]);
    const { instance: _a, requestId: _c, ...one } = existing.body;
    const { instance: _b, requestId: _d, ...other } = missing.body;
    expect(one).toEqual(other);
  });
});

import request from 'supertest';
import { startWorld, type World } from '../../support/fixture.js';

const SCHEDULES_PATH = /backup\/schedules$/;

/** One caller's flood must not fail another caller's run, nor open the breaker for everyone. */
describe('reads flooding an appliance', () => {
  let world: World;
  let reader: string;
  let runner: string;
  beforeAll(async () => {
    world = await startWorld({
      applianceConfig: { 'vc-a': { timeoutMs: 3000 } },
      // 3 connections for reads (and 3 waiting), 1 kept for runs and logins.
      extra: { limits: { upstreamConnections: 4, reservedRunConnections: 1 }, breaker: { consecutiveFailures: 2 } },
    });
    reader = `Bearer ${await world.idp.token({ sub: 'dashboard', scope: 'backups:read' })}`;
    runner = `Bearer ${await world.idp.token({ sub: 'nightly', scope: 'backups:run backups:read' })}`;
  });
  afterAll(() => world.stop());

  it('a run gets through a read flood at once; queued reads are not appliance timeouts; overflow is shed, not queued', async () => {
    const sim = world.appliances['vc-a'];
    // Warm the session up first, so that the flood does not queue behind a login.
    await request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', reader).expect(200);
    sim.faults.set({ kind: 'latency', ms: 2000, path: SCHEDULES_PATH });
    const flood = Promise.all(
      Array.from({ length: 30 }, () =>
        request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', reader),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const run = await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', runner)
      .send({});
    const runMs = Date.now() - started;
    const reads = await flood;

    expect(run.status).toBe(202);
    expect(runMs).toBeLessThan(1500); // never behind the 2 s reads
    const statuses = reads.map((r) => r.status).sort();
    // 3 reads on the connections, 3 waiting (4 s in all, past timeoutMs 3 s: the wait is ours), the rest shed.
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 503)).toHaveLength(24);
    const shed = reads.find((r) => r.status === 503);
    expect(shed?.body.code).toBe('OVERLOADED');
    expect(Number(shed?.headers['retry-after'])).toBeGreaterThan(0);
    expect(reads.some((r) => r.status === 504)).toBe(false);
    // The breaker (2 failures) is closed: nothing counted against the appliance.
    sim.faults.clear();
    sim.finishRunningJobs();
    await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', runner)
      .send({})
      .expect(202);
  });
});

describe('one caller at a time', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ applianceConfig: { 'vc-a': { timeoutMs: 5000 } } });
  });
  afterAll(() => world.stop());

  it('a caller past limits.maxInFlightPerCaller gets 429 TOO_MANY_REQUESTS; another caller is served meanwhile', async () => {
    const greedy = `Bearer ${await world.idp.token({ sub: 'greedy', scope: 'backups:read' })}`;
    const polite = `Bearer ${await world.idp.token({ sub: 'polite', scope: 'backups:read' })}`;
    const sim = world.appliances['vc-a'];
    await request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', polite).expect(200);
    // Held 3 s at the appliance: all 40 are surely under way together, however slowly this machine sends them.
    sim.faults.set({ kind: 'latency', ms: 3000, path: SCHEDULES_PATH });
    const flood = Promise.all(
      Array.from({ length: 40 }, () =>
        request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', greedy),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = await request(world.gateway.url)
      .get('/appliances/vc-a/backups/schedules')
      .set('authorization', polite);
    const responses = await flood;
    sim.faults.clear();
    expect(other.status).toBe(200);
    const refused = responses.filter((r) => r.status === 429);
    expect(refused).toHaveLength(8);
    expect(refused[0].body.code).toBe('TOO_MANY_REQUESTS');
    expect(refused[0].headers['retry-after']).toBe('1');
    expect(responses.filter((r) => r.status === 200)).toHaveLength(32);
    // The slots come back: the same caller is served again once its requests are answered.
    await request(world.gateway.url).get('/appliances/vc-a/backups/schedules').set('authorization', greedy).expect(200);
  });
});

import request from 'supertest';
import { API_KEY, startWorld, World } from '../../support/fixture.js';

/** `audit.store: off` exists for benchmarks and labs: runs work, nothing is recorded, and it says so. */
describe('audit.store: off', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld({ extra: { audit: { store: 'off' } } });
  });
  afterAll(() => world.stop());

  it('runs without recording, warns at start-up, and answers 503 to audit reads', async () => {
    await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('x-api-key', API_KEY)
      .expect(202);
    expect(world.appliances['vc-a'].counters.runs).toBe(1);
    const warnings = world.gateway.logs.map((line) => JSON.parse(line)).filter((entry) => entry.level === 'warn');
    expect(warnings.map((entry) => entry.msg)).toContainEqual(expect.stringMatching(/audit\.store is off/));
    expect(world.gateway.logs.some((line) => JSON.parse(line).audit === true)).toBe(false);
    const reader = await world.idp.token({ scope: 'audit:read' });
    const events = await request(world.gateway.url).get('/audit/events').auth(reader, { type: 'bearer' }).expect(503);
    expect(events.body.code).toBe('AUDIT_UNAVAILABLE');
    await request(world.gateway.url).get('/health/ready').expect(200);
  });

  it('still settles an Idempotency-Key: the retry is the same 202, replayed, and the appliance runs once', async () => {
    const runsBefore = world.appliances['vc-a'].counters.runs;
    world.appliances['vc-a'].finishRunningJobs();
    const send = () =>
      request(world.gateway.url)
        .post('/appliances/vc-a/backups/schedules/default/run')
        .set('x-api-key', API_KEY)
        .set('idempotency-key', 'audit-off-retry')
        .expect(202);
    const first = await send();
    const retry = await send();
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(world.appliances['vc-a'].counters.runs).toBe(runsBefore + 1);
  });
});

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startWorld, type World } from '../../support/fixture.js';
import { startGateway, type TestGateway } from '../../support/gateway.js';
import { describeRedis, startRedis, type TestRedis } from '../../support/redis-server.js';
import { tempDir } from '../../support/temp-dir.js';

const LIMITS = { rateLimit: { runsPerMinute: 3, readsPerMinute: 5 } };

function expectRateLimited(response: request.Response, limit: number) {
  expect(response.status).toBe(429);
  expect(response.body.code).toBe('RATE_LIMITED');
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers['ratelimit-limit']).toBe(String(limit));
  expect(response.headers['ratelimit-remaining']).toBe('0');
  expect(response.headers['ratelimit-policy']).toBe(`${limit};w=60`);
}

describe('rate limits per caller', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extra: LIMITS });
  });
  afterAll(() => world.stop());

  const token = (sub: string) => world.idp.token({ sub, scope: 'backups:run backups:read' });
  const run = (auth: string, path = '/appliances/vc-a/backups/schedules/default/run') =>
    request(world.gateway.url).post(path).set('authorization', `Bearer ${auth}`).send({});

  it('runs: the limit holds across the run routes, refuses with 429 RATE_LIMITED, and sends nothing upstream', async () => {
    const alice = await token('alice-runs');
    const first = await run(alice);
    expect(first.headers['ratelimit-limit']).toBe('3');
    expect(first.headers['ratelimit-remaining']).toBe('2');
    world.appliances['vc-a'].finishRunningJobs();
    await run(alice, '/backups/schedules/default/run');
    await request(world.gateway.url)
      .post('/backups/runs')
      .set('authorization', `Bearer ${alice}`)
      .send({ schedule: 'default', appliances: ['vc-b'] })
      .expect(207);
    const runsBefore = world.appliances['vc-a'].counters.runs;
    expectRateLimited(await run(alice), 3);
    expect(world.appliances['vc-a'].counters.runs).toBe(runsBefore);
    // Another caller has a budget of its own.
    world.appliances['vc-a'].finishRunningJobs();
    expect((await run(await token('bob-runs'))).status).toBe(202);
    // Runs stay out of the read budget: alice, out of runs, still has all 5 reads, and no more.
    for (let i = 0; i < 5; i++) {
      await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${alice}`).expect(200);
    }
    expectRateLimited(await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${alice}`), 5);
  });

  it('reads: the read budget is its own', async () => {
    const carol = await token('carol-reads');
    for (let i = 0; i < 5; i++) {
      await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${carol}`).expect(200);
    }
    expectRateLimited(await request(world.gateway.url).get('/appliances').set('authorization', `Bearer ${carol}`), 5);
    // Reads stay out of the run budget: carol, out of reads, may still run.
    world.appliances['vc-a'].finishRunningJobs();
    expect((await run(carol)).status).toBe(202);
  });

  it('health probes are never limited', async () => {
    for (let i = 0; i < 20; i++) await request(world.gateway.url).get('/health/live').expect(200);
  });
});

describe('rate-limited runs in the audit trail', () => {
  it('one rate_limited entry per caller and window, with the number refused, written by the window close at the latest', async () => {
    const dir = tempDir('rate-audit-');
    const audit = { sqlite: { path: join(dir, 'audit.db') } };
    const world = await startWorld({ extra: { ...LIMITS, audit } });
    const greedy = await world.idp.token({ sub: 'greedy-script', scope: 'backups:run' });
    const run = (requestId: string) =>
      request(world.gateway.url)
        .post('/appliances/vc-a/backups/schedules/default/run')
        .set('authorization', `Bearer ${greedy}`)
        .set('x-request-id', requestId)
        .set('user-agent', 'greedy/2.0')
        .send({});
    for (let i = 0; i < 3; i++) {
      await run(`greedy-run-${i}`);
      world.appliances['vc-a'].finishRunningJobs();
    }
    for (let i = 0; i < 5; i++) expect((await run(`greedy-refused-${i}`)).status).toBe(429);
    const config = JSON.parse(JSON.stringify(world.gateway.config));
    await world.gateway.close(); // the window is still open: shutdown writes it
    const reader = await startGateway(config, {});
    try {
      const token = await world.idp.token({ sub: 'auditor', scope: 'audit:read' });
      const response = await request(reader.url)
        .get('/audit/events?outcome=rate_limited')
        .set('authorization', `Bearer ${token}`)
        .expect(200);
      expect(response.body.items).toHaveLength(1);
      expect(response.body.items[0]).toMatchObject({
        stage: 'completed',
        outcome: 'rate_limited',
        count: 5,
        httpStatus: 429,
        code: 'RATE_LIMITED',
        appliance: '*',
        actor: { subject: `jwt:${world.idp.issuer}:greedy-script`, userAgent: 'greedy/2.0' },
        // The window's first refusal names it.
        requestId: 'greedy-refused-0',
      });
    } finally {
      await reader.close();
      await Promise.all(Object.values(world.appliances).map((sim) => sim.stop()));
      await world.idp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeRedis('rate limits shared by replicas through Redis', () => {
  let world: World;
  let redis: TestRedis;
  let second: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    world = await startWorld({ extra: { ...LIMITS, redis: { url: redis.url } } });
    second = await startGateway(JSON.parse(JSON.stringify({ ...world.gateway.config, port: 0 })), {});
    await waitFor(() => world.gateway.logs.some((line) => line.includes('redis connected')));
    await waitFor(() => second.logs.some((line) => line.includes('redis connected')));
  });
  afterAll(async () => {
    await second.close();
    await world.stop();
    await redis.stop();
  });

  const reads = (gateway: { url: string }, auth: string) =>
    request(gateway.url).get('/appliances').set('authorization', `Bearer ${auth}`);

  it('a caller cannot multiply its limit by spreading requests over replicas', async () => {
    const dave = await world.idp.token({ sub: 'dave', scope: 'backups:read' });
    for (let i = 0; i < 5; i++) await reads(i % 2 === 0 ? world.gateway : second, dave).expect(200);
    expectRateLimited(await reads(second, dave), 5);
    expectRateLimited(await reads(world.gateway, dave), 5);
  });

  it('Redis going away degrades to per-replica limits with a warning, never to errors; back, it is shared again', async () => {
    const erin = await world.idp.token({ sub: 'erin', scope: 'backups:read' });
    const linesWith = (text: string) => world.gateway.logs.filter((line) => line.includes(text));
    // Counted from here: a busy machine may have cost the start-up an outage of its own.
    const before = linesWith('redis unavailable').length;
    const connected = linesWith('redis connected').length;
    const outage = () => linesWith('redis unavailable').slice(before);
    await redis.stop();
    await waitFor(() => outage().length > 0);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await reads(world.gateway, erin)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    // One line for the outage, however many requests fell back during it.
    expect(outage()).toHaveLength(1);
    expect(outage()[0]).toMatch(/fall back to this replica alone/);
    await redis.start();
    await waitFor(() => linesWith('redis connected').length > connected);
    const frank = await world.idp.token({ sub: 'frank', scope: 'backups:read' });
    for (let i = 0; i < 5; i++) await reads(i % 2 === 0 ? world.gateway : second, frank).expect(200);
    expectRateLimited(await reads(second, frank), 5);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

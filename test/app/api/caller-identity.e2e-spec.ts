import request from 'supertest';
import { type AuditClient, auditClient } from '../../support/audit-client.js';
import { API_KEY, RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';

const RUN = '/appliances/vc-a/backups/schedules/default/run';

/**
 * One caller is one CallerId, namespaced by how it authenticated: whatever a token's `sub` says, it never shares an
 * API key's stored answers, rate budget or concurrency slots, and a stored answer is replayed only to a caller that
 * may run the backup now.
 */
describe('one caller identity', () => {
  let world: World;
  let audit: AuditClient;
  beforeAll(async () => {
    world = await startWorld({ extra: { rateLimit: { runsPerMinute: 3, readsPerMinute: 1000 } } });
    audit = auditClient(world.gateway.url, `Bearer ${await world.idp.token({ sub: 'auditor', scope: 'audit:read' })}`);
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.appliances['vc-a'].finishRunningJobs();
    world.appliances['vc-a'].resetCounters();
  });

  const bearer = async (claims: Record<string, unknown>) => `Bearer ${await world.idp.token(claims)}`;
  const run = (headers: Record<string, string>, key?: string) => {
    const test = request(world.gateway.url).post(RUN).set(headers);
    if (key !== undefined) test.set('idempotency-key', key);
    return test.send({});
  };

  it("a token whose sub is `apikey:nightly-cron` is not that API key: it is never given the key's stored answer", async () => {
    const first = await run({ 'x-api-key': API_KEY }, 'shared-key-1');
    expect(first.status).toBe(202);
    // The impostor holds the run scope, so a refusal would not be about scopes: its key is simply its own.
    world.appliances['vc-a'].finishRunningJobs();
    const impostor = await run(
      { authorization: await bearer({ sub: 'apikey:nightly-cron', ...RUN_AND_READ }), 'x-request-id': 'impostor-1' },
      'shared-key-1',
    );
    expect(impostor.status).toBe(202);
    expect(impostor.headers['idempotent-replayed']).toBeUndefined();
    expect(impostor.body.job.id).not.toBe(first.body.job.id);
    expect(world.appliances['vc-a'].counters.runs).toBe(2);
    const [entry] = (await audit.forRequest('impostor-1')).completed;
    expect(entry.actor).toMatchObject({ subject: `jwt:${world.idp.issuer}:apikey:nightly-cron`, authMethod: 'jwt' });
  });

  it('a stored answer is replayed only after the scope check: the same caller without the run scope gets 403', async () => {
    const first = await run({ authorization: await bearer({ sub: 'carol', ...RUN_AND_READ }) }, 'carol-key');
    expect(first.status).toBe(202);
    const readOnly = await run(
      { authorization: await bearer({ sub: 'carol', scope: 'backups:read' }), 'x-request-id': 'carol-read-only' },
      'carol-key',
    );
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.code).toBe('FORBIDDEN');
    expect(readOnly.headers['idempotent-replayed']).toBeUndefined();
    expect(JSON.stringify(readOnly.body)).not.toContain(first.body.job.id);
    expect((await audit.forRequest('carol-read-only')).completed[0]).toMatchObject({ outcome: 'denied' });
  });

  it('rate budgets are per CallerId: an API key spending its runs leaves a token named like it untouched', async () => {
    // The first test spent one run of each (3 a minute); the key spends the rest of its own.
    for (let i = 0; i < 2; i++) {
      world.appliances['vc-a'].finishRunningJobs();
      expect((await run({ 'x-api-key': API_KEY })).status).toBe(202);
    }
    expect((await run({ 'x-api-key': API_KEY })).status).toBe(429);
    world.appliances['vc-a'].finishRunningJobs();
    expect((await run({ authorization: await bearer({ sub: 'apikey:nightly-cron', ...RUN_AND_READ }) })).status).toBe(
      202,
    );
  });
});

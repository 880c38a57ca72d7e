import request from 'supertest';
import { type AuditClient, auditClient } from '../../support/audit-client.js';
import { RUN_AND_READ, startWorld, type World } from '../../support/fixture.js';

/** A double click, a retry after a lost answer, a key used twice: one backup, and every attempt on record. */
describe('Idempotency-Key on runs', () => {
  let world: World;
  let auth: string;
  let audit: AuditClient;
  beforeAll(async () => {
    world = await startWorld({ applianceConfig: { 'vc-a': { timeoutMs: 500 } } });
    auth = `Bearer ${await world.idp.token({ ...RUN_AND_READ, sub: 'portal' })}`;
    audit = auditClient(world.gateway.url, `Bearer ${await world.idp.token({ sub: 'auditor', scope: 'audit:read' })}`);
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) {
      sim.faults.clear();
      sim.finishRunningJobs();
      sim.resetCounters();
    }
  });

  const sim = () => world.appliances['vc-a'];
  const run = (key: string | undefined, body: Record<string, unknown> = { comment: 'nightly' }, token = auth) => {
    const test = request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', token);
    if (key !== undefined) test.set('idempotency-key', key);
    return test.send(body);
  };

  it('a retry with the same key gets the first answer again, marked replayed, and starts nothing', async () => {
    const first = await run('click-1').set('x-request-id', 'first-click');
    expect(first.status).toBe(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await run('click-1').set('x-request-id', 'second-click');
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.body).toEqual(first.body);
    expect(sim().counters.runs).toBe(1);
    // Both attempts are on record; the replay names the entry of the original answer.
    const original = (await audit.forRequest('first-click')).completed[0];
    const replay = (await audit.forRequest('second-click')).all;
    expect(replay).toHaveLength(1);
    expect(replay[0]).toMatchObject({
      stage: 'completed',
      outcome: 'replayed',
      replayOf: original.id,
      httpStatus: 202,
    });
    expect(replay[0].jobId).toBe(first.body.job.id);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('a double click (two at once): one runs, the other is told it is in progress; one backup', async () => {
    sim().faults.set({ kind: 'latency', ms: 300, path: /action=run/ });
    const [a, b] = await Promise.all([run('double'), run('double')]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([202, 409]);
    const refused = a.status === 409 ? a : b;
    expect(refused.body.code).toBe('IDEMPOTENCY_REQUEST_IN_PROGRESS');
    expect(refused.headers['retry-after']).toBe('1');
    expect(sim().counters.runs).toBe(1);
    // Once answered, the same key replays.
    expect((await run('double')).headers['idempotent-replayed']).toBe('true');
  });

  it('the same key for another request is 422 IDEMPOTENCY_KEY_REUSED, audited, and nothing is sent', async () => {
    await run('reused', { comment: 'first' }).expect(202);
    const other = await run('reused', { comment: 'second' }).set('x-request-id', 'reused-other');
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(sim().counters.runs).toBe(1);
    const [entry] = (await audit.forRequest('reused-other')).all;
    expect(entry).toMatchObject({ outcome: 'rejected', code: 'IDEMPOTENCY_KEY_REUSED', httpStatus: 422 });
  });

  it('keys belong to a caller: another caller with the same key runs its own request', async () => {
    await run('shared-key').expect(202);
    sim().finishRunningJobs();
    const other = `Bearer ${await world.idp.token({ ...RUN_AND_READ, sub: 'other-portal' })}`;
    const theirs = await run('shared-key', { comment: 'nightly' }, other);
    expect(theirs.status).toBe(202);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(sim().counters.runs).toBe(2);
  });

  it('a refusal by the appliance is a final answer too: replayed without asking it again', async () => {
    const missing = () =>
      request(world.gateway.url)
        .post('/appliances/vc-a/backups/schedules/weekly-nope/run')
        .set('authorization', auth)
        .set('idempotency-key', 'missing-schedule')
        .send({});
    const first = await missing();
    expect(first.status).toBe(404);
    const again = await missing();
    expect(again.status).toBe(404);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.body.code).toBe('SCHEDULE_NOT_FOUND');
    expect(sim().counters.runs).toBe(1);
  });

  it('an unknown outcome is not stored: a retry runs again and learns the truth from the appliance', async () => {
    // The appliance starts the job, then never answers: 504, the backup may have started.
    sim().faults.set({ kind: 'hang', path: /action=run/, phase: 'after', times: 1 });
    const lost = await run('lost-answer');
    expect(lost.status).toBe(504);
    expect(lost.body.detail).toMatch(/may have started/);
    const retry = await run('lost-answer');
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.status).toBe(409); // the first backup is running: now the caller knows
    expect(retry.body.code).toBe('BACKUP_IN_PROGRESS');
    expect(sim().counters.jobsStarted).toBe(1);
    // "Another backup is running" lasts as long as that backup: not final, never replayed.
    const third = await run('lost-answer');
    expect(third.headers['idempotent-replayed']).toBeUndefined();
    expect(third.status).toBe(409);
    sim().finishRunningJobs();
    const fourth = await run('lost-answer');
    expect(fourth.status).toBe(202);
    expect(fourth.headers['idempotent-replayed']).toBeUndefined();
    // Final now: replayed from here on.
    expect((await run('lost-answer')).headers['idempotent-replayed']).toBe('true');
  });

  it('fleet runs take a key too: the 207 is replayed whole', async () => {
    const fleet = () =>
      request(world.gateway.url)
        .post('/backups/runs')
        .set('authorization', auth)
        .set('idempotency-key', 'fleet-1')
        .send({ schedule: 'default', appliances: ['vc-a', 'vc-b'] });
    const first = await fleet();
    expect(first.status).toBe(207);
    const again = await fleet();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(sim().counters.runs + world.appliances['vc-b'].counters.runs).toBe(2);
  });

  it.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['not ASCII', 'clé'],
  ])('a malformed key (%s) is 400 and runs nothing', async (_name, key) => {
    const response = await request(world.gateway.url)
      .post('/appliances/vc-a/backups/schedules/default/run')
      .set('authorization', auth)
      .set('idempotency-key', Buffer.from(key, 'latin1').toString('latin1'))
      .send({});
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.field).toBe('Idempotency-Key');
    expect(sim().counters.runs).toBe(0);
  });
});

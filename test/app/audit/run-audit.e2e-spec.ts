import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import request from 'supertest';
import type { AuditEvent, AuditOutcome } from '../../../src/audit/audit-entry.js';
import type { Fault } from '../../../tools/simulator/appliance-simulator.js';
import { type AuditClient, auditClient, byRequestId } from '../../support/audit-client.js';
import { API_KEY, APPLIANCE_PASSWORD, startWorld, type World } from '../../support/fixture.js';
import { waitFor } from '../../support/wait-for.js';

/**
 * The run path writes the audit trail: every outcome a run can have, produced for real (simulated appliances over
 * loopback HTTP, signed tokens, the SQLite store) and read back the way an auditor reads it, GET /audit/events.
 */
describe('the audit trail of runs', () => {
  let world: World;
  let audit: AuditClient;
  /** Every credential the tests send: none may ever appear in the trail. */
  const secrets: string[] = [API_KEY, APPLIANCE_PASSWORD];
  let alice: string;
  let mallory: string;

  beforeAll(async () => {
    world = await startWorld({
      applianceIds: ['vc-a', 'vc-b', 'vc-c', 'vc-gone'],
      applianceConfig: { 'vc-a': { timeoutMs: 400 }, 'vc-c': { timeoutMs: 400 } },
    });
    // Configured, but nothing listens there any more: connection refused.
    await world.appliances['vc-gone'].stop();
    const token = async (claims: Record<string, unknown>) => {
      const minted = await world.idp.token(claims);
      secrets.push(minted);
      return minted;
    };
    alice = await token({ sub: 'alice', name: 'Alice Example', scope: 'backups:run backups:read' });
    mallory = await token({ sub: 'mallory', scope: 'backups:run:vc-b backups:read' });
    audit = auditClient(world.gateway.url, `Bearer ${await token({ sub: 'auditor', scope: 'audit:read' })}`);
  });
  afterAll(async () => {
    await world.stop();
    rmSync(dirname(world.gateway.config.audit.sqlite.path), { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const sim of Object.values(world.appliances)) {
      sim.faults.clear();
      sim.finishRunningJobs();
      sim.resetCounters();
      sim.clearRequests();
    }
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  interface RunOptions {
    credentials?: Record<string, string>;
    requestId: string;
    body?: Record<string, unknown>;
    userAgent?: string;
  }

  function run(appliance: string, schedule: string, options: RunOptions): request.Test {
    return request(world.gateway.url)
      .post(`/appliances/${appliance}/backups/schedules/${schedule}/run`)
      .set(options.credentials ?? bearer(alice))
      .set('x-request-id', options.requestId)
      .set('user-agent', options.userAgent ?? 'audit-e2e/1.0')
      .send(options.body ?? {});
  }

  /** Run requests, across every simulator, that carried this request id. */
  function runsReceived(requestId: string) {
    return Object.values(world.appliances).flatMap((sim) =>
      sim.requests.filter((r) => r.path.includes('action=run') && r.headers['x-request-id'] === requestId),
    );
  }

  /**
   * The two entries of one run: `requested` first in the chain, `completed` naming it, both describing the same
   * run and caller; the requested entry reads the completed entry's outcome.
   */
  async function expectPair(requestId: string, completed: Partial<AuditEvent> & { outcome: AuditOutcome }) {
    const entries = await audit.forRequest(requestId);
    expect(entries.all.map((e) => e.stage)).toEqual(['completed', 'requested']);
    const [req] = entries.requested;
    const [done] = entries.completed;
    expect(req).toMatchObject({
      requestId,
      action: 'backup.schedule.run',
      outcome: null,
      httpStatus: null,
      code: null,
      jobId: null,
      durationMs: null,
      requestedId: null,
      finalOutcome: completed.outcome,
    });
    expect(done).toMatchObject({
      requestId,
      requestedId: req.id,
      code: null,
      jobId: null,
      durationMs: expect.any(Number),
      finalOutcome: completed.outcome,
      ...completed,
    });
    const described = ({ action, actor, appliance, schedule, comment, fleetRequestId }: AuditEvent) => ({
      action,
      actor,
      appliance,
      schedule,
      comment,
      fleetRequestId,
    });
    expect(described(done)).toEqual(described(req));
    expect(req.seq).toBeLessThan(done.seq);
    return { requested: req, completed: done };
  }

  it('accepted (JWT): requested before the appliance is called, completed with the job, one request id', async () => {
    const response = await run('vc-a', 'default', {
      requestId: 'accepted-jwt',
      body: { comment: 'before the 8.0.3 upgrade' },
    }).expect(202);

    const { requested, completed } = await expectPair('accepted-jwt', {
      outcome: 'accepted',
      httpStatus: 202,
      jobId: response.body.job.id,
    });
    expect(requested).toMatchObject({
      actor: {
        subject: `jwt:${world.idp.issuer}:alice`,
        name: 'Alice Example',
        clientId: 'portal',
        authMethod: 'jwt',
        ip: '127.0.0.1',
        userAgent: 'audit-e2e/1.0',
      },
      appliance: 'vc-a',
      schedule: 'default',
      comment: 'before the 8.0.3 upgrade',
      fleetRequestId: null,
    });
    // The same request id went to the appliance, after the requested entry was made and before the completed one.
    const [received] = runsReceived('accepted-jwt');
    expect(received.receivedAt).toBeGreaterThanOrEqual(Date.parse(requested.time));
    expect(Date.parse(completed.time)).toBeGreaterThanOrEqual(received.receivedAt);
    expect(world.appliances['vc-a'].startedJobs().map((job) => job.id)).toEqual([completed.jobId]);
  });

  it('accepted (API key, short route): the service account is the actor', async () => {
    const response = await request(world.gateway.url)
      .post('/backups/schedules/default/run?appliance=vc-b')
      .set('x-api-key', API_KEY)
      .set('x-request-id', 'accepted-api-key')
      .set('user-agent', 'nightly-cron/2.1')
      .expect(202);
    const { requested } = await expectPair('accepted-api-key', {
      outcome: 'accepted',
      httpStatus: 202,
      jobId: response.body.job.id,
    });
    expect(requested).toMatchObject({
      actor: {
        subject: 'apikey:nightly-cron',
        name: 'nightly-cron',
        clientId: 'nightly-cron',
        authMethod: 'apiKey',
        ip: '127.0.0.1',
        userAgent: 'nightly-cron/2.1',
      },
      appliance: 'vc-b',
      comment: null,
    });
  });

  interface FailureCase {
    name: string;
    appliance?: string;
    schedule?: string;
    fault?: Fault;
    /** Something to do first (start a backup, so that the run finds one running). */
    before?: () => Promise<unknown>;
    status: number;
    code: string;
    outcome: AuditOutcome;
    /** Whether the run request reached an appliance. */
    reached: boolean;
  }

  const failures: FailureCase[] = [
    {
      name: 'rejected: a backup already runs (409 BACKUP_IN_PROGRESS)',
      before: () => run('vc-a', 'default', { requestId: 'first-of-two' }).expect(202),
      status: 409,
      code: 'BACKUP_IN_PROGRESS',
      outcome: 'rejected',
      reached: true,
    },
    {
      name: 'rejected: the appliance has no such schedule (404 SCHEDULE_NOT_FOUND)',
      schedule: 'nightly',
      status: 404,
      code: 'SCHEDULE_NOT_FOUND',
      outcome: 'rejected',
      reached: true,
    },
    {
      name: 'rejected: the appliance is not configured (404 APPLIANCE_NOT_FOUND)',
      appliance: 'vc-zz',
      status: 404,
      code: 'APPLIANCE_NOT_FOUND',
      outcome: 'rejected',
      reached: false,
    },
    {
      name: 'failed: the appliance answers 500 (502 APPLIANCE_ERROR)',
      fault: { kind: 'status', status: 500, path: 'action=run', times: 1 },
      status: 502,
      code: 'APPLIANCE_ERROR',
      outcome: 'failed',
      reached: true,
    },
    {
      name: 'failed: the appliance is unreachable (503 APPLIANCE_UNAVAILABLE)',
      appliance: 'vc-gone',
      status: 503,
      code: 'APPLIANCE_UNAVAILABLE',
      outcome: 'failed',
      reached: false,
    },
    {
      name: 'unknown: the appliance hangs past timeoutMs (504 APPLIANCE_TIMEOUT)',
      fault: { kind: 'hang', path: 'action=run', times: 1 },
      status: 504,
      code: 'APPLIANCE_TIMEOUT',
      outcome: 'unknown',
      reached: true,
    },
    {
      name: 'unknown: the connection is reset after the run was sent (503 APPLIANCE_UNAVAILABLE)',
      fault: { kind: 'reset', path: 'action=run', phase: 'after', times: 1 },
      status: 503,
      code: 'APPLIANCE_UNAVAILABLE',
      outcome: 'unknown',
      reached: true,
    },
  ];

  it.each(failures)('$name', async (c) => {
    const appliance = c.appliance ?? 'vc-a';
    const requestId = `case-${failures.indexOf(c)}`;
    await c.before?.();
    if (c.fault) world.appliances[appliance].faults.set(c.fault);

    const response = await run(appliance, c.schedule ?? 'default', { requestId, body: { comment: c.name } });
    expect({ status: response.status, code: response.body.code }).toEqual({ status: c.status, code: c.code });

    await expectPair(requestId, { outcome: c.outcome, httpStatus: c.status, code: c.code, comment: c.name });
    expect(runsReceived(requestId)).toHaveLength(c.reached ? 1 : 0);
  });

  it('unknown really means unknown: the reset run did start a backup the caller never heard of', async () => {
    world.appliances['vc-b'].faults.set({ kind: 'reset', path: 'action=run', phase: 'after', times: 1 });
    await run('vc-b', 'default', { requestId: 'reset-started' }).expect(503);
    await expectPair('reset-started', { outcome: 'unknown', httpStatus: 503, code: 'APPLIANCE_UNAVAILABLE' });
    expect(world.appliances['vc-b'].counters.jobsStarted).toBe(1);
  });

  it('denied (403): one completed entry, outcome denied, no requested entry, nothing sent to any appliance', async () => {
    const response = await run('vc-a', 'default', {
      credentials: bearer(mallory),
      requestId: 'denied-single',
      body: { comment: 'let me in' },
    }).expect(403);
    expect(response.body.code).toBe('FORBIDDEN');

    const entries = await audit.forRequest('denied-single');
    expect(entries.all).toHaveLength(1);
    expect(entries.requested).toEqual([]);
    expect(entries.completed[0]).toMatchObject({
      stage: 'completed',
      outcome: 'denied',
      finalOutcome: 'denied',
      httpStatus: 403,
      code: 'FORBIDDEN',
      requestedId: null,
      jobId: null,
      appliance: 'vc-a',
      schedule: 'default',
      comment: 'let me in',
      actor: {
        subject: `jwt:${world.idp.issuer}:mallory`,
        authMethod: 'jwt',
        ip: '127.0.0.1',
        userAgent: 'audit-e2e/1.0',
      },
    });
    expect(Object.values(world.appliances).map((sim) => sim.counters.requests)).toEqual([0, 0, 0, 0]);
  });

  it('a caller without any run scope is denied on the fleet route too, and recorded', async () => {
    const reader = await world.idp.token({ sub: 'reader', scope: 'backups:read' });
    secrets.push(reader);
    await request(world.gateway.url)
      .post('/backups/runs')
      .set(bearer(reader))
      .set('x-request-id', 'denied-fleet')
      .send({ schedule: 'default', appliances: ['vc-a'] })
      .expect(403);
    const entries = await audit.forRequest('denied-fleet');
    expect(entries.all).toEqual([
      expect.objectContaining({ stage: 'completed', outcome: 'denied', appliance: '*', schedule: 'default' }),
    ]);
    expect(world.appliances['vc-a'].counters.requests).toBe(0);
  });

  it('fleet run: one pair per appliance sharing fleetRequestId, a denial for each forbidden appliance', async () => {
    const scoped = await world.idp.token({ sub: 'ops', scope: 'backups:run:vc-a backups:run:vc-b' });
    secrets.push(scoped);
    const response = await request(world.gateway.url)
      .post('/backups/runs')
      .set(bearer(scoped))
      .set('x-request-id', 'fleet-1')
      .send({ schedule: 'default', appliances: ['vc-a', 'vc-b', 'vc-c'], comment: 'quarterly' })
      .expect(207);
    const statuses = Object.fromEntries(
      response.body.results.map((r: { appliance: string; status: number }) => [r.appliance, r.status]),
    );
    expect(statuses).toEqual({ 'vc-a': 202, 'vc-b': 202, 'vc-c': 403 });
    const jobs = Object.fromEntries(
      response.body.results.map((r: { appliance: string; job?: { id: string } }) => [r.appliance, r.job?.id]),
    );

    const { events } = await audit.export();
    const fleet = byRequestId(events.filter((e) => e.fleetRequestId === 'fleet-1'));
    expect([...fleet.keys()].sort()).toEqual(['fleet-1.vc-a', 'fleet-1.vc-b', 'fleet-1.vc-c']);
    for (const appliance of ['vc-a', 'vc-b']) {
      const { completed } = await expectPair(`fleet-1.${appliance}`, {
        outcome: 'accepted',
        httpStatus: 202,
        jobId: jobs[appliance],
        appliance,
        fleetRequestId: 'fleet-1',
        comment: 'quarterly',
      });
      expect(completed.actor.subject).toBe(`jwt:${world.idp.issuer}:ops`);
      expect(runsReceived(`fleet-1.${appliance}`)).toHaveLength(1);
    }
    const denied = fleet.get('fleet-1.vc-c');
    expect(denied?.requested).toEqual([]);
    expect(denied?.completed).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        finalOutcome: 'denied',
        httpStatus: 403,
        code: 'FORBIDDEN',
        appliance: 'vc-c',
        fleetRequestId: 'fleet-1',
        requestedId: null,
      }),
    ]);
    expect(world.appliances['vc-c'].counters.requests).toBe(0);
  });

  it('a completed entry completes its own requested entry, even when callers reuse a request id at once', async () => {
    // Alice's run is held at the appliance while Bob's, with the same request id, comes back first.
    const bob = await world.idp.token({ sub: 'bob', scope: 'backups:run' });
    secrets.push(bob);
    const sim = world.appliances['vc-c'];
    sim.faults.set({ kind: 'hang', path: 'action=run', times: 1 });
    const slow = run('vc-c', 'default', { requestId: 'reused', body: { comment: 'alice' } }).then((r) => r);
    await waitFor(() => sim.counters.faultedRuns === 1);
    await run('vc-c', 'default', { credentials: bearer(bob), requestId: 'reused', body: { comment: 'bob' } }).expect(
      202,
    );
    expect((await slow).status).toBe(504);

    const { requested, completed } = await audit.forRequest('reused');
    expect(requested).toHaveLength(2);
    expect(completed).toHaveLength(2);
    for (const done of completed) {
      const partner = requested.find((r) => r.id === done.requestedId);
      expect({
        completes: partner?.actor.subject,
        comment: partner?.comment,
        finalOutcome: partner?.finalOutcome,
      }).toEqual({ completes: done.actor.subject, comment: done.comment, finalOutcome: done.outcome });
    }
  });

  it('no entry ever holds a bearer token, an API key or the appliance password; the chain verifies', async () => {
    // One more run with every kind of credential in play, so the search below has something to find.
    await run('vc-b', 'default', { credentials: { 'x-api-key': API_KEY }, requestId: 'secrets' }).expect(202);
    const { events, raw } = await audit.export();
    expect(events.length).toBeGreaterThan(20);
    expect(raw).toContain(`"subject":"jwt:${world.idp.issuer}:alice"`);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).not.toMatch(/Bearer|eyJ|Basic /);
    expect(await audit.verify()).toEqual({ ok: true, count: events.length });
  });
});

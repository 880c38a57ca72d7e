import type { Logger } from 'pino';
import { toJob } from '../../../src/backups/job-mapper.js';
import type { KeyHold } from '../../../src/backups/runs/idempotent-runs.service.js';
import type { RunResult } from '../../../src/backups/runs/run-answers.js';
import { type RunKey, type RunRequest, RunsService } from '../../../src/backups/runs/runs.service.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { jobTracker } from '../../support/job-tracker.js';
import {
  capturingLogger,
  deferred,
  FakeBudget,
  FakeRegistry,
  jobStatus,
  originFor,
  principal,
  RecordingAudit,
  runConfig,
  settle,
  silentLogger,
} from '../../support/run-fakes.js';

/**
 * RunsService, the one use case that changes anything, against fakes of the audit trail, the appliances and the run
 * budget: every branch of admission, a single run, a fleet run and fleet selection, in milliseconds.
 */
const config = runConfig();
const request: RunRequest = { schedule: 'daily', comment: 'before the upgrade' };
const INSTANCE = '/appliances/vc-a/backups/schedules/daily/run';

async function world(logger: Logger = silentLogger()) {
  const registry = new FakeRegistry(config);
  const audit = new RecordingAudit();
  // The real tracker (cheap: a map): a seeded job is read back without asking the appliance.
  const tracker = await jobTracker(registry.asRegistry(), config);
  const budget = new FakeBudget();
  const metrics = new GatewayMetrics(config);
  const service = new RunsService(registry.asRegistry(), audit, tracker, budget.asBudget(), config, logger, metrics);
  const runCounts = async () => (await metrics.runs.get()).values.map(({ labels, value }) => ({ ...labels, value }));
  return { registry, audit, tracker, budget, service, runCounts };
}

/** The request every single run and admission below answers (the fleet tests name their own). */
const origin = originFor('req-1');

function keyOf(members: KeyHold['members'] = {}, instance = INSTANCE): RunKey {
  return {
    hold: { caller: 'apikey:ops', key: 'key-1', owner: 'process:req-1', requestId: 'req-1', leaseMs: 30_000, members },
    instance,
  };
}

/** A JobDto as it travels in a stored answer (JSON text). */
function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

const refusals = {
  busy: () =>
    new GatewayError('BACKUP_IN_PROGRESS', 'Appliance vc-a is already running a backup.', { appliance: 'vc-a' }),
  timeout: () =>
    new GatewayError('APPLIANCE_TIMEOUT', 'Appliance vc-a did not answer in time.', {
      appliance: 'vc-a',
      mayHaveStarted: true,
    }),
  noSchedule: () => new GatewayError('SCHEDULE_NOT_FOUND', 'No schedule daily on vc-a.', { appliance: 'vc-a' }),
};

function jobOf(result: RunResult) {
  if (!('job' in result)) throw new Error(`expected a job, got ${JSON.stringify(result)}`);
  return result.job;
}

function errorOf(result: RunResult): GatewayError {
  if (!('error' in result)) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.error;
}

describe('RunsService.admit', () => {
  it('admits a single run for a principal holding the run scope of that appliance, and writes nothing', async () => {
    const { service, audit, registry } = await world();
    await expect(
      service.admit(principal('backups:run:vc-a'), origin, { appliance: 'vc-a' }, request),
    ).resolves.toBeUndefined();
    expect(audit.calls).toEqual([]);
    expect(registry.runs).toEqual([]);
  });

  it('refuses a single run without the run scope: 403, one denied entry, nothing sent, counted as denied', async () => {
    const { service, audit, registry, runCounts } = await world();
    const error = await failureOf(service.admit(principal('backups:read'), origin, { appliance: 'vc-a' }, request));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403, details: { appliance: 'vc-a' } });
    expect(audit.kinds()).toEqual(['denied']);
    expect(audit.of('denied')[0]).toMatchObject({
      action: 'backup.schedule.run',
      appliance: 'vc-a',
      schedule: 'daily',
      comment: 'before the upgrade',
      requestId: 'req-1',
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 0,
      actor: { subject: 'apikey:ops', authMethod: 'apiKey', ip: '192.0.2.7', userAgent: 'unit-test' },
    });
    expect(registry.runs).toEqual([]);
    expect(await runCounts()).toEqual([{ appliance: 'vc-a', outcome: 'denied', value: 1 }]);
  });

  it('refuses a fleet run without any run scope: one denied entry for appliance *, never a metric label', async () => {
    const { service, audit, runCounts } = await world();
    const error = await failureOf(service.admit(principal('backups:read', 'audit:read'), origin, 'fleet', request));
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect((error as GatewayError).details.appliance).toBeUndefined();
    expect(audit.kinds()).toEqual(['denied']);
    expect(audit.of('denied')[0]).toMatchObject({ appliance: '*', httpStatus: 403, code: 'FORBIDDEN' });
    expect(await runCounts()).toEqual([]);
  });

  it('admits a fleet run for a principal holding the run scope of a single appliance', async () => {
    const { service, audit } = await world();
    await expect(service.admit(principal('backups:run:vc-b'), origin, 'fleet', request)).resolves.toBeUndefined();
    expect(audit.calls).toEqual([]);
  });

  it('does not admit vc-a on scope backups:run:vc-a2 (ids compare exactly, not by prefix)', async () => {
    const { service, audit } = await world();
    const scoped = principal('backups:run:vc-a2');
    await expect(service.admit(scoped, origin, { appliance: 'vc-a2' }, request)).resolves.toBeUndefined();
    await expect(service.admit(scoped, origin, { appliance: 'vc-a' }, request)).rejects.toMatchObject({ status: 403 });
    expect(audit.of('denied').map((entry) => entry.appliance)).toEqual(['vc-a']);
  });
});

describe('RunsService.runOne', () => {
  const runner = principal('backups:run');

  it('an accepted run writes requested, then completed (accepted, 202, the job id), and answers with the job', async () => {
    const { service, audit, registry, runCounts } = await world();
    const status = jobStatus('job-7', { progress: 3, extra_field: 'kept' });
    registry.behaviour.set('vc-a', async () => status);
    const result = await service.runOne(runner, origin, 'vc-a', request);

    expect(registry.runs).toEqual([
      { appliance: 'vc-a', schedule: 'daily', comment: 'before the upgrade', requestId: 'req-1' },
    ]);
    expect(audit.kinds()).toEqual(['requested', 'completed']);
    expect(audit.of('requested')[0]).toEqual({
      action: 'backup.schedule.run',
      actor: {
        subject: 'apikey:ops',
        name: 'ops',
        clientId: 'ops',
        authMethod: 'apiKey',
        ip: '192.0.2.7',
        userAgent: 'unit-test',
      },
      requestId: 'req-1',
      appliance: 'vc-a',
      schedule: 'daily',
      comment: 'before the upgrade',
    });
    const [completed] = audit.of('completed');
    expect(completed).toMatchObject({ outcome: 'accepted', httpStatus: 202, jobId: 'job-7', requestedId: 'e1' });
    expect(completed.settles).toBeUndefined();
    expect(result).toEqual({ appliance: 'vc-a', requestId: 'req-1', entryId: 'e2', job: toJob(status) });
    expect(await runCounts()).toEqual([{ appliance: 'vc-a', outcome: 'accepted', value: 1 }]);
  });

  it("records the run's duration in its completed entry: from its request to the appliance's answer", async () => {
    const { service, audit, registry } = await world();
    registry.behaviour.set('vc-a', async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return jobStatus('job-7');
    });
    const started = performance.now();
    await service.runOne(runner, origin, 'vc-a', request);
    const elapsed = performance.now() - started;
    const { durationMs } = audit.of('completed')[0];
    expect(durationMs).toBeGreaterThanOrEqual(55); // timers may fire a little early, never much
    expect(durationMs).toBeLessThanOrEqual(Math.ceil(elapsed));
  });

  it("seeds the job tracker with the appliance's answer: the first watcher reads it without asking the appliance", async () => {
    const { service, registry, tracker } = await world();
    const status = jobStatus('job-7');
    registry.behaviour.set('vc-a', async () => status);
    await service.runOne(runner, origin, 'vc-a', request);
    // Unseeded, the tracker would ask the fake appliance, which answers SUCCEEDED and records the read.
    expect(await tracker.status('vc-a', 'job-7')).toBe(status);
    expect(registry.reads).toEqual([]);
  });

  it("under a key, the completed entry settles it with the caller, the key and the 202 answer (the job's id)", async () => {
    const { service, audit, registry } = await world();
    const status = jobStatus('job-7');
    registry.behaviour.set('vc-a', async () => status);
    await service.runOne(runner, origin, 'vc-a', request, keyOf());

    const { settles } = audit.of('completed')[0];
    expect(settles).toEqual({
      caller: 'apikey:ops',
      key: 'key-1',
      response: { status: 202, headers: { location: '/appliances/vc-a/backups/jobs/job-7' }, body: expect.any(String) },
    });
    const body = JSON.parse((settles as { response: { body: string } }).response.body);
    expect(body).toEqual({ appliance: 'vc-a', schedule: 'daily', job: asJson(toJob(status)), requestId: 'req-1' });
    expect(body.job.id).toBe('job-7');
  });

  it('an appliance busy with another backup (409) is completed as rejected and does not settle the key (not final)', async () => {
    const { service, audit, registry, runCounts } = await world();
    const busy = refusals.busy();
    registry.behaviour.set('vc-a', () => Promise.reject(busy));
    const result = await service.runOne(runner, origin, 'vc-a', request, keyOf());

    expect(audit.kinds()).toEqual(['requested', 'completed']);
    const [completed] = audit.of('completed');
    expect(completed).toMatchObject({
      outcome: 'rejected',
      httpStatus: 409,
      code: 'BACKUP_IN_PROGRESS',
      requestedId: 'e1',
    });
    expect(completed.jobId).toBeUndefined();
    expect(completed.settles).toBeUndefined();
    expect(result).toEqual({ appliance: 'vc-a', requestId: 'req-1', entryId: 'e2', error: busy });
    expect(await runCounts()).toEqual([{ appliance: 'vc-a', outcome: 'rejected', value: 1 }]);
  });

  it('a timeout after sending (504, mayHaveStarted) is completed as unknown and does not settle the key', async () => {
    const { service, audit, registry } = await world();
    const timeout = refusals.timeout();
    registry.behaviour.set('vc-a', () => Promise.reject(timeout));
    const result = await service.runOne(runner, origin, 'vc-a', request, keyOf());

    const [completed] = audit.of('completed');
    expect(completed).toMatchObject({ outcome: 'unknown', httpStatus: 504, code: 'APPLIANCE_TIMEOUT' });
    expect(completed.settles).toBeUndefined();
    expect(errorOf(result)).toBe(timeout);
  });

  it('a final refusal (404 SCHEDULE_NOT_FOUND) settles the key with the problem document the caller gets', async () => {
    const { service, audit, registry } = await world();
    registry.behaviour.set('vc-a', () => Promise.reject(refusals.noSchedule()));
    await service.runOne(runner, origin, 'vc-a', request, keyOf());

    const [completed] = audit.of('completed');
    expect(completed).toMatchObject({ outcome: 'rejected', httpStatus: 404, code: 'SCHEDULE_NOT_FOUND' });
    expect(completed.settles).toEqual({
      caller: 'apikey:ops',
      key: 'key-1',
      response: { status: 404, headers: {}, body: expect.any(String) },
    });
    const body = JSON.parse((completed.settles as { response: { body: string } }).response.body);
    expect(body).toMatchObject({
      status: 404,
      code: 'SCHEDULE_NOT_FOUND',
      instance: INSTANCE,
      requestId: 'req-1',
      appliance: 'vc-a',
    });
  });

  it('when requested cannot be written (AUDIT_UNAVAILABLE) the run is refused and nothing reaches the appliance', async () => {
    const { service, audit, registry, runCounts } = await world();
    const unavailable = RecordingAudit.unavailable();
    audit.failRequested = unavailable;
    const result = await service.runOne(runner, origin, 'vc-a', request, keyOf());

    expect(result).toEqual({ appliance: 'vc-a', requestId: 'req-1', entryId: '', error: unavailable });
    expect(registry.runs).toEqual([]);
    expect(audit.kinds()).toEqual(['requested']);
    expect(await runCounts()).toEqual([]);
  });

  it('an unexpected failure writing requested is rethrown, and nothing reaches the appliance', async () => {
    const { service, audit, registry } = await world();
    const bug = new Error('audit recorder bug');
    audit.failRequested = bug;
    await expect(service.runOne(runner, origin, 'vc-a', request)).rejects.toBe(bug);
    expect(registry.runs).toEqual([]);
    expect(audit.kinds()).toEqual(['requested']);
  });

  it('a plain Error from the appliance client is rethrown after a completed entry with outcome unknown (500)', async () => {
    const { service, audit, registry, runCounts } = await world();
    const bug = new TypeError('cannot read properties of undefined');
    registry.behaviour.set('vc-a', () => Promise.reject(bug));
    await expect(service.runOne(runner, origin, 'vc-a', request, keyOf())).rejects.toBe(bug);

    expect(audit.kinds()).toEqual(['requested', 'completed']);
    const [completed] = audit.of('completed');
    expect(completed).toMatchObject({ outcome: 'unknown', httpStatus: 500, code: 'INTERNAL_ERROR', requestedId: 'e1' });
    // The backup may have started: a retry must ask again, so the key is not settled.
    expect(completed.settles).toBeUndefined();
    expect(await runCounts()).toEqual([{ appliance: 'vc-a', outcome: 'unknown', value: 1 }]);
  });

  it('an appliance that is not configured is a rejected 404 run, counted as not_configured (never its id)', async () => {
    const { service, audit, runCounts } = await world();
    const result = await service.runOne(runner, origin, 'vc-nope', request);
    expect(errorOf(result)).toMatchObject({ code: 'APPLIANCE_NOT_FOUND', status: 404 });
    expect(audit.of('completed')[0]).toMatchObject({ appliance: 'vc-nope', outcome: 'rejected', httpStatus: 404 });
    expect(await runCounts()).toEqual([{ appliance: 'not_configured', outcome: 'rejected', value: 1 }]);
  });
});

describe('RunsService.runFleet', () => {
  const runner = principal('backups:run');
  const four = ['vc-a', 'vc-a2', 'vc-b', 'vc-c'];

  it('runs at most fleet.concurrency members at once, and answers one result per member in member order', async () => {
    const { service, registry } = await world();
    const gate = deferred();
    let active = 0;
    let most = 0;
    for (const id of four) {
      registry.behaviour.set(id, async () => {
        active += 1;
        most = Math.max(most, active);
        await gate.promise;
        active -= 1;
        return jobStatus(`job-${id}`);
      });
    }
    const running = service.runFleet(runner, origin, request, four);
    await settle();
    // fleet.concurrency is 2: the other two wait for a slot.
    expect(registry.runs.map((run) => run.appliance)).toEqual(['vc-a', 'vc-a2']);
    gate.resolve();
    const results = await running;
    expect(most).toBe(2);
    expect(registry.runs).toHaveLength(4);
    expect(results.map((result) => [result.appliance, jobOf(result).id])).toEqual(four.map((id) => [id, `job-${id}`]));
  });

  it('runs each member under its own request id {requestId}.{appliance}, which the appliance receives', async () => {
    const { service, audit, registry } = await world();
    const results = await service.runFleet(runner, originFor('req-9'), request, ['vc-a', 'vc-b']);
    expect(registry.runs.map((run) => run.requestId)).toEqual(['req-9.vc-a', 'req-9.vc-b']);
    expect(audit.of('requested')).toEqual([
      expect.objectContaining({
        requestId: 'req-9.vc-a',
        fleetRequestId: 'req-9',
        actor: expect.objectContaining({ ip: '192.0.2.7', userAgent: 'unit-test' }),
      }),
      expect.objectContaining({ requestId: 'req-9.vc-b', fleetRequestId: 'req-9' }),
    ]);
    expect(results.map((result) => result.requestId)).toEqual(['req-9.vc-a', 'req-9.vc-b']);
  });

  it('a member the principal may not run is a 403 result with a denied entry, and receives nothing', async () => {
    const { service, audit, registry } = await world();
    const results = await service.runFleet(principal('backups:run:vc-a'), originFor('req-9'), request, [
      'vc-a',
      'vc-b',
    ]);
    expect(registry.runs.map((run) => run.appliance)).toEqual(['vc-a']);
    expect(audit.of('denied')).toEqual([
      expect.objectContaining({
        appliance: 'vc-b',
        requestId: 'req-9.vc-b',
        fleetRequestId: 'req-9',
        httpStatus: 403,
        code: 'FORBIDDEN',
      }),
    ]);
    const deniedId = audit.calls.findIndex((call) => call.kind === 'denied') + 1;
    expect(results[1]).toEqual({
      appliance: 'vc-b',
      requestId: 'req-9.vc-b',
      entryId: `e${deniedId}`,
      error: expect.objectContaining({ code: 'FORBIDDEN', status: 403, details: { appliance: 'vc-b' } }),
    });
    expect(jobOf(results[0]).id).toBe('job-vc-a');
  });

  it('a member whose final answer the key holds is replayed: a replayed entry naming the original, no call', async () => {
    const { service, audit, registry } = await world();
    const stored = { appliance: 'vc-a', status: 202, job: asJson(toJob(jobStatus('job-old'))) };
    const key = keyOf({ 'vc-a': { result: JSON.stringify(stored), entryId: 'old-1' } }, '/backups/runs');
    const results = await service.runFleet(runner, originFor('req-9'), request, ['vc-a', 'vc-b'], key);

    expect(registry.runs.map((run) => run.appliance)).toEqual(['vc-b']);
    expect(audit.of('replayed')).toEqual([
      expect.objectContaining({
        appliance: 'vc-a',
        requestId: 'req-9.vc-a',
        fleetRequestId: 'req-9',
        httpStatus: 202,
        jobId: 'job-old',
        durationMs: 0,
        replayOf: 'old-1',
      }),
    ]);
    expect(audit.of('requested').map((entry) => entry.appliance)).toEqual(['vc-b']);
    expect(results[0]).toEqual({ appliance: 'vc-a', requestId: 'req-9.vc-a', entryId: 'e1', replayed: stored });
  });

  it("each final member's completed entry settles that member; a member busy or timed out settles nothing", async () => {
    const { service, audit, registry } = await world();
    registry.behaviour.set('vc-a2', () => Promise.reject(refusals.busy()));
    registry.behaviour.set('vc-b', () => Promise.reject(refusals.noSchedule()));
    registry.behaviour.set('vc-c', () => Promise.reject(refusals.timeout()));
    const key = keyOf({}, '/backups/runs');
    await service.runFleet(runner, originFor('req-9'), request, four, key);

    const settles = Object.fromEntries(audit.of('completed').map((entry) => [entry.appliance, entry.settles]));
    expect(settles['vc-a2']).toBeUndefined();
    expect(settles['vc-c']).toBeUndefined();
    expect(settles['vc-a']).toEqual({
      caller: 'apikey:ops',
      key: 'key-1',
      member: 'vc-a',
      memberResult: expect.any(String),
    });
    expect(JSON.parse((settles['vc-a'] as { memberResult: string }).memberResult)).toEqual({
      appliance: 'vc-a',
      status: 202,
      job: asJson(toJob(jobStatus('job-vc-a'))),
    });
    expect(settles['vc-b']).toMatchObject({ member: 'vc-b' });
    expect(JSON.parse((settles['vc-b'] as { memberResult: string }).memberResult)).toEqual({
      appliance: 'vc-b',
      status: 404,
      problem: expect.objectContaining({
        code: 'SCHEDULE_NOT_FOUND',
        instance: '/backups/runs',
        requestId: 'req-9.vc-b',
      }),
    });
  });

  it('spends one run per member beyond the first on the run budget (the guard counted the request once)', async () => {
    const { service, budget } = await world();
    await service.runFleet(runner, origin, request, ['vc-a', 'vc-a2', 'vc-b']);
    expect(budget.spends).toEqual([{ caller: 'apikey:ops', runs: 2 }]);
  });

  it('does not spend replayed members: they run nothing', async () => {
    const { service, budget } = await world();
    const stored = JSON.stringify({ appliance: 'vc-a', status: 202, job: asJson(toJob(jobStatus('job-old'))) });
    const key = keyOf({ 'vc-a': { result: stored, entryId: 'old-1' } }, '/backups/runs');
    await service.runFleet(runner, origin, request, ['vc-a', 'vc-a2', 'vc-b'], key);
    expect(budget.spends).toEqual([{ caller: 'apikey:ops', runs: 1 }]);
  });

  it('a fleet past the run budget is refused whole: nothing is written or sent', async () => {
    const { service, budget, audit, registry } = await world();
    budget.refuse = new GatewayError('RATE_LIMITED', 'Past the budget.', { retryAfter: 30 });
    await expect(service.runFleet(runner, origin, request, ['vc-a', 'vc-b'])).rejects.toBe(budget.refuse);
    expect(audit.calls).toEqual([]);
    expect(registry.runs).toEqual([]);
  });

  it("logs a member's 5xx (its own request id, appliance, code), not its 4xx: no exception filter sees them", async () => {
    const { logger, lines } = capturingLogger();
    const { service, registry } = await world(logger);
    registry.behaviour.set('vc-a', () => Promise.reject(refusals.timeout()));
    registry.behaviour.set('vc-b', () => Promise.reject(refusals.busy()));
    await service.runFleet(runner, originFor('req-9'), request, ['vc-a', 'vc-b']);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        requestId: 'req-9.vc-a',
        appliance: 'vc-a',
        code: 'APPLIANCE_TIMEOUT',
        msg: 'Appliance vc-a did not answer in time.',
      }),
    ]);
  });
});

describe('RunsService.members', () => {
  it('a tag selects only appliances the principal may read or run', async () => {
    const { service } = await world();
    // vc-a2 carries the tag too, but this caller may neither run nor read it: it is not named.
    const members = service.members(principal('backups:run:vc-a', 'backups:read:vc-b'), { tags: ['prod'] });
    expect(members).toEqual(['vc-a', 'vc-b']);
  });

  it('a tag no appliance the principal may see carries is 400 VALIDATION_FAILED', async () => {
    const { service } = await world();
    expect(() => service.members(principal('backups:run:vc-c'), { tags: ['prod'] })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }),
    );
  });

  it("named appliances are the caller's own words: kept once each, in order, whatever the scopes", async () => {
    const { service } = await world();
    expect(service.members(principal('backups:run:vc-a'), { appliances: ['vc-b', 'vc-a', 'vc-b'] })).toEqual([
      'vc-b',
      'vc-a',
    ]);
  });

  it('up to fleet.maxAppliances members are allowed; more is 400 VALIDATION_FAILED naming the field', async () => {
    const { service } = await world();
    const runner = principal('backups:run');
    expect(service.members(runner, { appliances: ['vc-a', 'vc-a2', 'vc-b'] })).toHaveLength(3);
    expect(() => service.members(runner, { appliances: ['vc-a', 'vc-a2', 'vc-b', 'vc-c'] })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        status: 400,
        details: { errors: [expect.objectContaining({ field: 'appliances' })] },
      }),
    );
    expect(() => service.members(runner, { tags: ['prod', 'lab'] })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        details: { errors: [expect.objectContaining({ field: 'tags' })] },
      }),
    );
  });

  it('appliances and tags together are 400 VALIDATION_FAILED', async () => {
    const { service } = await world();
    expect(() => service.members(principal('backups:run'), { appliances: ['vc-a'], tags: ['prod'] })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }),
    );
  });
});

describe('RunsService.target', () => {
  it("a single run addresses the appliance it names, else the registry's default", async () => {
    const { service } = await world();
    expect(service.target('vc-b')).toBe('vc-b');
    expect(service.target()).toBe('vc-a');
  });
});

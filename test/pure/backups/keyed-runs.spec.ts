import { jest } from '@jest/globals';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { IdempotentRuns, type KeyHold } from '../../../src/backups/runs/idempotent-runs.service.js';
import { KeyedRuns } from '../../../src/backups/runs/keyed-runs.js';
import { type RunAnswer, storedResponseOf } from '../../../src/backups/runs/run-answers.js';
import type { RunHttpRequest, RunTarget } from '../../../src/backups/runs/run-route.js';
import type { RunKey } from '../../../src/backups/runs/runs.service.js';
import { GatewayMetrics } from '../../../src/metrics/gateway-metrics.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';
import { StoredProblem } from '../../../src/problems/stored-problem.js';
import {
  capturingLogger,
  deferred,
  FakeRegistry,
  originFor,
  principal,
  RecordingAudit,
  RecordingKeys,
  runConfig,
  silentLogger,
} from '../../support/run-fakes.js';

/**
 * The Idempotency-Key of a run route (KeyedRuns over the real IdempotentRuns and the in-memory key store), driven as
 * the run routes drive it: the request RunAdmissionGuard admitted, a reply that records its headers, and a run that
 * answers (or fails) as the route's use case would.
 */
const config = runConfig();
const runner = principal('backups:run');
const SINGLE_URL = '/appliances/vc-a/backups/schedules/daily/run';
const FLEET_URL = '/backups/runs';
const HOUR_MS = 60 * 60 * 1000;

function world(logger: Logger = silentLogger()) {
  const keys = new RecordingKeys();
  const audit = new RecordingAudit();
  const metrics = new GatewayMetrics(config);
  const registry = new FakeRegistry(config).asRegistry();
  const runs = new IdempotentRuns(keys, registry, audit, config, metrics, logger);
  const keyed = new KeyedRuns(runs, registry, config);
  const replays = async () => (await metrics.idempotentReplays.get()).values[0]?.value ?? 0;
  return { keys, audit, runs, keyed, replays };
}

class FakeReply {
  readonly headers: [string, string][] = [];
  /** What the answer's status was set to (the fleet route sends it so: 202 or 207). */
  statusCode: number | undefined;

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  header(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }

  /** Fastify's reply.headers(object): one header() per entry. */
  headersOf(values: Record<string, string>): this {
    for (const [name, value] of Object.entries(values)) this.header(name, value);
    return this;
  }
}

/** The route's use case: counts its calls and sees the key it was handed. */
class FakeRun {
  calls = 0;
  heldKeys: (KeyHold | undefined)[] = [];
  instances: (string | undefined)[] = [];

  constructor(private readonly answer: () => Promise<RunAnswer>) {}

  readonly run = (key: RunKey | undefined): Promise<RunAnswer> => {
    this.calls += 1;
    this.heldKeys.push(key?.hold);
    this.instances.push(key?.instance);
    return this.answer();
  };
}

interface Call {
  target: RunTarget;
  request: RunHttpRequest;
  reply: FakeReply;
  handler: FakeRun;
}

function httpRequest(target: RunTarget, key: string | string[] | undefined, body: unknown): RunHttpRequest {
  const fleet = target === 'fleet';
  return {
    method: 'POST',
    url: fleet ? FLEET_URL : SINGLE_URL,
    headers: key === undefined ? {} : { 'idempotency-key': key },
    params: fleet ? {} : { applianceId: 'vc-a', scheduleId: 'daily' },
    query: {},
    body,
    user: runner,
    // What RunAdmissionGuard leaves on the request it admitted.
    admitted: {
      body: body as object,
      origin: originFor('req-0'),
      appliance: fleet ? '*' : 'vc-a',
      schedule: fleet ? ((body as { schedule?: string } | null)?.schedule ?? '*') : 'daily',
      comment: (body as { comment?: string } | null)?.comment,
    },
  } as unknown as RunHttpRequest;
}

function call(
  target: RunTarget,
  key: string | string[] | undefined,
  outcome: RunAnswer | Error,
  body: unknown = target === 'fleet' ? { schedule: 'daily', appliances: ['vc-a', 'vc-b'] } : { comment: 'nightly' },
): Call {
  const request = httpRequest(target, key, body);
  const reply = new FakeReply();
  const handler = new FakeRun(() => (outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome)));
  return { target, request, reply, handler };
}

function replyOf(reply: FakeReply): FastifyReply {
  return {
    header: reply.header.bind(reply),
    headers: reply.headersOf.bind(reply),
    status: reply.status.bind(reply),
  } as unknown as FastifyReply;
}

/** The call answered as the request `requestId` (its origin is what RunAdmissionGuard found). */
async function run(keyed: KeyedRuns, { target, request, reply, handler }: Call, requestId = 'req-0'): Promise<unknown> {
  if (request.admitted) request.admitted.origin = originFor(requestId);
  return keyed.answer(request, replyOf(reply), target === 'fleet' ? 'fleet' : 'single', handler.run);
}

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

const accepted: RunAnswer = {
  status: 202,
  headers: { location: '/appliances/vc-a/backups/jobs/job-1' },
  body: { appliance: 'vc-a', schedule: 'daily', job: { id: 'job-1', state: 'INPROGRESS' }, requestId: 'unknown' },
  entryId: 'e-run',
  final: true,
};

function fleetAnswer(final: boolean): RunAnswer {
  return {
    status: 207,
    headers: {},
    body: {
      schedule: 'daily',
      requestId: 'unknown',
      results: [
        { appliance: 'vc-a', status: 202, job: { id: 'job-a' } },
        {
          appliance: 'vc-b',
          status: final ? 404 : 504,
          problem: { code: final ? 'SCHEDULE_NOT_FOUND' : 'APPLIANCE_TIMEOUT' },
        },
      ],
    },
    entryId: 'e-fleet',
    final,
  };
}

/** What the audit entry recording a single run's answer does with its key (the recorder writes it with the entry). */
async function settleSingle(keys: RecordingKeys, key: string, response: RunAnswer, entryId: string): Promise<void> {
  await keys.complete({ caller: runner.caller, key, entryId, response: storedResponseOf(response) });
}

describe('KeyedRuns without a key', () => {
  it("calls the run, claims nothing, and sets the answer's headers", async () => {
    const { keyed, keys, audit } = world();
    const first = call('path', undefined, accepted);
    await expect(run(keyed, first)).resolves.toEqual(accepted.body);
    expect(first.handler.calls).toBe(1);
    expect(first.handler.heldKeys).toEqual([undefined]);
    expect(keys.claims).toEqual([]);
    expect(audit.calls).toEqual([]);
    expect(first.reply.headers).toEqual([['location', '/appliances/vc-a/backups/jobs/job-1']]);
  });
});

describe('KeyedRuns with a key', () => {
  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a control character', 'key\t1'],
    ['non-ASCII', 'clé'],
  ])('refuses a malformed key (%s) with 400 VALIDATION_FAILED before claiming or running', async (_name, key) => {
    const { keyed, keys } = world();
    const first = call('path', key, accepted);
    const error = await failureOf(run(keyed, first));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(keys.claims).toEqual([]);
    expect(first.handler.calls).toBe(0);
  });

  it('the first request claims the key (for the caller, for idempotency.ttlHours) and the run gets the hold', async () => {
    const { keyed, keys } = world();
    const first = call('path', 'key-1', accepted);
    await run(keyed, first, 'req-1');
    expect(first.handler.calls).toBe(1);
    expect(first.handler.heldKeys).toEqual([
      {
        caller: 'apikey:ops',
        key: 'key-1',
        owner: expect.stringMatching(/:req-1$/),
        requestId: 'req-1',
        leaseMs: 30_000,
        members: {},
      },
    ]);
    // Problem documents of the run name the path (without its query) as their instance.
    expect(first.handler.instances).toEqual([SINGLE_URL]);
    expect(keys.claims).toEqual([
      expect.objectContaining({
        caller: 'apikey:ops',
        key: 'key-1',
        ttlMs: 24 * HOUR_MS,
        owner: first.handler.heldKeys[0]?.owner,
      }),
    ]);
  });

  it('the lease covers a login and a run per fleet round under the slowest timeout, plus 10 s', async () => {
    const { keyed, keys } = world();
    await run(keyed, call('path', 'key-1', accepted));
    // A fleet may have min(maxAppliances 3, 4 appliances) members: two rounds at concurrency 2.
    await run(keyed, call('fleet', 'key-2', fleetAnswer(true)));
    expect(keys.claims.map((claim) => claim.leaseMs)).toEqual([2 * 10_000 + 10_000, 2 * 2 * 10_000 + 10_000]);
  });

  it('several Idempotency-Key headers are one key, joined as HTTP joins them', async () => {
    const { keyed, keys } = world();
    await run(keyed, call('path', ['a', 'b'], accepted));
    expect(keys.claims.map((claim) => claim.key)).toEqual(['a,b']);
  });

  it('a done key replays its stored 2xx answer without the run, marked idempotent-replayed: true', async () => {
    const { keyed, keys, audit, replays } = world();
    await run(keyed, call('path', 'key-1', accepted));
    await settleSingle(keys, 'key-1', accepted, 'e-original');

    const retry = call('path', 'key-1', new Error('the run must not run'));
    await expect(run(keyed, retry)).resolves.toEqual(accepted.body);
    expect(retry.handler.calls).toBe(0);
    expect(retry.reply.headers).toEqual([
      ['location', '/appliances/vc-a/backups/jobs/job-1'],
      ['idempotent-replayed', 'true'],
    ]);
    expect(audit.of('replayed')).toEqual([
      expect.objectContaining({
        appliance: 'vc-a',
        schedule: 'daily',
        comment: 'nightly',
        httpStatus: 202,
        jobId: 'job-1',
        replayOf: 'e-original',
      }),
    ]);
    expect(await replays()).toBe(1);
  });

  it('a done key whose stored answer is a 4xx throws StoredProblem with the stored status, headers and body', async () => {
    const { keyed, keys, audit } = world();
    await run(keyed, call('path', 'key-1', accepted));
    const problem: RunAnswer = {
      status: 404,
      headers: {},
      body: { status: 404, code: 'SCHEDULE_NOT_FOUND', instance: SINGLE_URL, requestId: 'req-1' },
      entryId: 'e-404',
      final: true,
    };
    await settleSingle(keys, 'key-1', problem, 'e-404');

    const retry = call('path', 'key-1', new Error('the run must not run'));
    const error = await failureOf(run(keyed, retry));
    expect(error).toBeInstanceOf(StoredProblem);
    expect(error).toMatchObject({ status: 404, headers: {}, body: JSON.stringify(problem.body) });
    expect(retry.handler.calls).toBe(0);
    expect(retry.reply.headers).toEqual([]);
    expect(audit.of('replayed')).toEqual([
      expect.objectContaining({ httpStatus: 404, jobId: undefined, replayOf: 'e-404' }),
    ]);
  });

  it('the same key for another request is 422 IDEMPOTENCY_KEY_REUSED, audited as a rejected refusal', async () => {
    const { keyed, audit } = world();
    await run(keyed, call('path', 'key-1', accepted, { comment: 'nightly' }));

    const other = call('path', 'key-1', accepted, { comment: 'something else' });
    const error = await failureOf(run(keyed, other));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(other.handler.calls).toBe(0);
    expect(audit.of('denied')).toEqual([
      expect.objectContaining({
        outcome: 'rejected',
        httpStatus: 422,
        code: 'IDEMPOTENCY_KEY_REUSED',
        appliance: 'vc-a',
        schedule: 'daily',
        comment: 'something else',
      }),
    ]);
  });

  it('a retry while the first request runs is 409 IDEMPOTENCY_REQUEST_IN_PROGRESS with retryAfter, audited', async () => {
    const { keyed, audit } = world();
    const first = call('path', 'key-1', accepted);
    // Claimed and not yet answered: the first request's run has not returned.
    first.handler = new FakeRun(() => new Promise<RunAnswer>(() => undefined));
    void run(keyed, first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.handler.calls).toBe(1);

    const retry = call('path', 'key-1', accepted);
    const error = await failureOf(run(keyed, retry));
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS', status: 409, details: { retryAfter: 1 } });
    expect(retry.handler.calls).toBe(0);
    expect(audit.of('denied')).toEqual([
      expect.objectContaining({ outcome: 'rejected', httpStatus: 409, code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS' }),
    ]);
  });
});

describe('KeyedRuns while the run goes on', () => {
  afterEach(() => jest.useRealTimers());

  it('renews the claim every third of its lease: a retry after the first lease ended is still 409, and no run', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z') });
    const { keyed, keys } = world();
    const first = call('path', 'key-1', accepted);
    // A run that outlasts its 30 s lease (queued behind another run on the appliance, a slow login...).
    const answer = deferred<RunAnswer>();
    first.handler = new FakeRun(() => answer.promise);
    const firstDone = run(keyed, first);
    await jest.advanceTimersByTimeAsync(45_000);
    expect(keys.renewals).toEqual([
      expect.objectContaining({ key: 'key-1', leaseMs: 30_000 }),
      expect.objectContaining({ key: 'key-1', leaseMs: 30_000 }),
      expect.objectContaining({ key: 'key-1', leaseMs: 30_000 }),
      expect.objectContaining({ key: 'key-1', leaseMs: 30_000 }),
    ]);

    const retry = call('path', 'key-1', accepted);
    await expect(failureOf(run(keyed, retry))).resolves.toMatchObject({ code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS' });
    expect(retry.handler.calls).toBe(0);

    // Answered: the renewals stop with the run.
    answer.resolve(accepted);
    await firstDone;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(keys.renewals).toHaveLength(4);
  });

  it('a claim lost meanwhile (taken over, expired) is logged as a warning at its next renewal', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T12:00:00Z') });
    const { logger, lines } = capturingLogger();
    const { keyed, keys } = world(logger);
    const first = call('path', 'key-lost', accepted);
    const answer = deferred<RunAnswer>();
    first.handler = new FakeRun(() => answer.promise);
    const firstDone = run(keyed, first);
    await jest.advanceTimersByTimeAsync(1);
    const hold = first.handler.heldKeys[0];
    // Another request took the key over (as after a lease that lapsed while this process could not reach the store).
    await keys.release(hold?.caller ?? '', hold?.key ?? '', hold?.owner ?? '');
    await keys.claim({
      caller: hold?.caller ?? '',
      key: 'key-lost',
      fingerprint: 'x',
      owner: 'other',
      ttlMs: 60_000,
      leaseMs: 60_000,
    });
    await jest.advanceTimersByTimeAsync(10_000);
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: expect.stringMatching(/no longer held/) })]);
    answer.resolve(accepted);
    await firstDone;
  });
});

describe('KeyedRuns after the run', () => {
  it('a final single-run answer is left to the audit entry that settles it: neither stored here nor released', async () => {
    const { keyed, keys } = world();
    await run(keyed, call('path', 'key-1', accepted));
    expect(keys.completions).toEqual([]);
    expect(keys.releases).toEqual([]);
  });

  it('a fleet answer that is not final releases the key: a retry claims it and runs', async () => {
    const { keyed, keys } = world();
    const first = call('fleet', 'key-1', fleetAnswer(false));
    await expect(run(keyed, first)).resolves.toEqual(fleetAnswer(false).body);
    expect(keys.releases).toEqual([{ caller: 'apikey:ops', key: 'key-1', owner: first.handler.heldKeys[0]?.owner }]);

    const retry = call('fleet', 'key-1', fleetAnswer(true));
    await run(keyed, retry);
    expect(retry.handler.calls).toBe(1);
    expect(retry.handler.heldKeys[0]).toMatchObject({ key: 'key-1' });
  });

  it('a retry after a partly final fleet holds the members settled before (to replay them)', async () => {
    const { keyed, keys } = world();
    const first = call('fleet', 'key-1', fleetAnswer(false));
    const member = { result: '{"appliance":"vc-a","status":202,"job":{"id":"job-a"}}', entryId: 'e-a' };
    first.handler = new FakeRun(async () => {
      // What vc-a's completed entry settles while the fleet runs.
      void keys.complete({
        caller: runner.caller,
        key: 'key-1',
        entryId: 'e-a',
        member: 'vc-a',
        memberResult: member.result,
      });
      return fleetAnswer(false);
    });
    await run(keyed, first);

    const retry = call('fleet', 'key-1', fleetAnswer(true));
    await run(keyed, retry);
    expect(retry.handler.heldKeys[0]?.members).toEqual({ 'vc-a': member });
  });

  it('a final fleet answer is stored whole: a retry gets it replayed, without the run', async () => {
    const { keyed, keys } = world();
    const first = call('fleet', 'key-1', fleetAnswer(true));
    await run(keyed, first);
    expect(keys.completions).toEqual([
      expect.objectContaining({
        caller: 'apikey:ops',
        key: 'key-1',
        entryId: 'e-fleet',
        response: { status: 207, headers: {}, body: JSON.stringify(fleetAnswer(true).body) },
      }),
    ]);
    expect(keys.releases).toEqual([]);

    const retry = call('fleet', 'key-1', new Error('the run must not run'));
    await expect(run(keyed, retry)).resolves.toEqual(fleetAnswer(true).body);
    expect(retry.handler.calls).toBe(0);
    expect(retry.reply.headers).toEqual([['idempotent-replayed', 'true']]);
    expect([first.reply.statusCode, retry.reply.statusCode]).toEqual([207, 207]);
  });

  it('a queued fleet run (respond-async) is another request than the same body without it, and replays its 202', async () => {
    const { keyed } = world();
    const queued: RunAnswer = {
      status: 202,
      headers: { location: '/backups/runs/run-1', 'preference-applied': 'respond-async' },
      body: { id: 'run-1', state: 'running', members: [] },
      entryId: '',
      final: true,
    };
    const first = call('fleet', 'key-1', queued);
    await keyed.answer(first.request, replyOf(first.reply), 'fleet', first.handler.run, 'respond-async');
    expect(first.reply.statusCode).toBe(202);
    const retry = call('fleet', 'key-1', new Error('the run must not run'));
    await expect(
      keyed.answer(retry.request, replyOf(retry.reply), 'fleet', retry.handler.run, 'respond-async'),
    ).resolves.toEqual(queued.body);
    expect(retry.reply.statusCode).toBe(202);
    expect(retry.reply.headers).toEqual([
      ['location', '/backups/runs/run-1'],
      ['preference-applied', 'respond-async'],
      ['idempotent-replayed', 'true'],
    ]);
    const withoutPreference = call('fleet', 'key-1', fleetAnswer(true));
    await expect(run(keyed, withoutPreference)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('a handler error frees the key and reaches the caller unchanged: a retry claims it', async () => {
    const { keyed, keys } = world();
    const busy = new GatewayError('BACKUP_IN_PROGRESS', 'Appliance vc-a is already running a backup.');
    const first = call('path', 'key-1', busy);
    await expect(run(keyed, first)).rejects.toBe(busy);
    expect(keys.releases).toEqual([{ caller: 'apikey:ops', key: 'key-1', owner: first.handler.heldKeys[0]?.owner }]);

    const retry = call('path', 'key-1', accepted);
    await run(keyed, retry);
    expect(retry.handler.calls).toBe(1);
  });

  it("a key store failing while a handler's error frees the key never replaces that error", async () => {
    const { keyed, keys } = world();
    keys.failRelease = RecordingAudit.unavailable();
    const bug = new Error('handler bug');
    await expect(run(keyed, call('path', 'key-1', bug))).rejects.toBe(bug);
  });

  it('a key store failing in finish() is logged and never fails the caller, who gets the answer', async () => {
    const { logger, lines } = capturingLogger();
    const { keyed, keys } = world(logger);
    keys.failRelease = RecordingAudit.unavailable();
    keys.failComplete = RecordingAudit.unavailable();

    await expect(run(keyed, call('fleet', 'key-1', fleetAnswer(false)), 'req-1')).resolves.toEqual(
      fleetAnswer(false).body,
    );
    await expect(run(keyed, call('fleet', 'key-2', fleetAnswer(true)), 'req-2')).resolves.toEqual(
      fleetAnswer(true).body,
    );
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        requestId: 'req-1',
        err: expect.objectContaining({ message: expect.stringContaining('AUDIT_UNAVAILABLE') }),
      }),
      expect.objectContaining({ level: 40, requestId: 'req-2' }),
    ]);
    expect(String(lines[0].msg)).toContain('could not be updated');
  });
});

describe('IdempotentRuns', () => {
  const request = {
    key: 'key-1',
    method: 'POST',
    url: FLEET_URL,
    body: { schedule: 'daily', tags: ['prod'] },
    run: { appliance: '*', schedule: 'daily' },
    origin: originFor('req-0'),
    members: 1,
  };

  it('no key: no hold, nothing claimed', async () => {
    const { runs, keys } = world();
    await expect(runs.begin(runner, { ...request, key: undefined })).resolves.toEqual({ hold: undefined });
    expect(keys.claims).toEqual([]);
  });

  it('a lease is at most ten minutes, however many rounds a fleet has', async () => {
    const { runs, keys } = world();
    await runs.begin(runner, { ...request, members: 1_000 });
    expect(keys.claims[0].leaseMs).toBe(10 * 60_000);
  });

  it('the query is part of the request: the same key on another query is reuse (422)', async () => {
    const { runs } = world();
    await runs.begin(runner, request);
    await expect(runs.begin(runner, { ...request, url: `${FLEET_URL}?x=1` })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('finish and abandon without a hold touch no key, and have nothing to warn about', async () => {
    const { logger, lines } = capturingLogger();
    const { runs, keys } = world(logger);
    await runs.finish(undefined, fleetAnswer(false), true);
    await runs.finish(undefined, fleetAnswer(true), true);
    await runs.abandon(undefined);
    expect(keys.completions).toEqual([]);
    expect(keys.releases).toEqual([]);
    expect(lines).toEqual([]);
  });
});

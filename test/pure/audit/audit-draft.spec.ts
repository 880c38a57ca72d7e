import {
  completedDraft,
  deniedDraft,
  FIELD_LIMITS,
  rateLimitedDraft,
  replayedDraft,
  requestedDraft,
} from '../../../src/audit/audit-draft.js';
import type { AuditActor, AuditCompletedInput, AuditRequestedInput } from '../../../src/audit/audit-entry.js';

const actor: AuditActor = {
  subject: 'alice',
  name: 'Alice Example',
  clientId: 'portal',
  authMethod: 'jwt',
  ip: '10.0.4.17',
  userAgent: 'curl/8.5.0',
};

const run: AuditRequestedInput = {
  requestId: 'req-1',
  action: 'backup.schedule.run',
  actor,
  appliance: 'vc-a',
  schedule: 'default',
  comment: 'before the upgrade',
};

const completion: AuditCompletedInput = {
  ...run,
  outcome: 'accepted',
  httpStatus: 202,
  code: 'NONE_REALLY',
  jobId: '20260310-081502-00000001',
  durationMs: 41.6,
  fleetRequestId: 'fleet-9',
  requestedId: '00000000-0000-4000-8000-000000000000',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Drafts: the only place an entry's values are chosen, each string canonical and bounded before it is hashed. */
describe('audit drafts', () => {
  it('a `requested` draft: what is known before the run is sent, nothing of its outcome', () => {
    const before = Date.now();
    const draft = requestedDraft({ ...run, fleetRequestId: 'fleet-9' });
    expect(draft).toEqual({
      id: expect.stringMatching(UUID),
      time: expect.any(String),
      stage: 'requested',
      requestId: 'req-1',
      action: 'backup.schedule.run',
      actor: { ...actor },
      appliance: 'vc-a',
      schedule: 'default',
      comment: 'before the upgrade',
      outcome: null,
      httpStatus: null,
      code: null,
      jobId: null,
      durationMs: null,
      fleetRequestId: 'fleet-9',
      requestedId: null,
      replayOf: null,
      count: null,
    });
    expect(new Date(draft.time).toISOString()).toBe(draft.time);
    expect(Date.parse(draft.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(draft.time)).toBeLessThanOrEqual(Date.now());
    expect(requestedDraft(run).id).not.toBe(draft.id);
  });

  it('absent optional values are null, never undefined (the hash covers every key)', () => {
    const bare = requestedDraft({
      ...run,
      actor: { subject: 'svc', authMethod: 'apiKey', ip: '::1' },
      comment: undefined,
    });
    expect(bare.actor).toEqual({
      subject: 'svc',
      name: null,
      clientId: null,
      authMethod: 'apiKey',
      ip: '::1',
      userAgent: null,
    });
    expect(bare.comment).toBeNull();
    expect(bare.fleetRequestId).toBeNull();
    expect(Object.values(bare).includes(undefined)).toBe(false);
    // null, as a caller's object may hold it, is absent too.
    const nulls = requestedDraft({
      ...run,
      actor: { subject: 'svc', name: null, clientId: null, authMethod: 'apiKey', ip: '::1', userAgent: null },
      comment: null,
      fleetRequestId: null,
    } as unknown as AuditRequestedInput);
    expect(nulls).toMatchObject({ comment: null, fleetRequestId: null });
    expect(nulls.actor).toEqual(bare.actor);
  });

  it('a `completed` draft: the outcome, a whole number of milliseconds, and the requested entry it completes', () => {
    const draft = completedDraft(completion);
    expect(draft).toMatchObject({
      stage: 'completed',
      outcome: 'accepted',
      httpStatus: 202,
      code: 'NONE_REALLY',
      jobId: '20260310-081502-00000001',
      durationMs: 42,
      fleetRequestId: 'fleet-9',
      requestedId: '00000000-0000-4000-8000-000000000000',
      comment: 'before the upgrade',
    });
    const unknown = completedDraft({
      ...completion,
      code: undefined,
      jobId: undefined,
      fleetRequestId: undefined,
      durationMs: Number.NaN,
      httpStatus: Number.POSITIVE_INFINITY,
    });
    expect(unknown).toMatchObject({
      code: null,
      jobId: null,
      fleetRequestId: null,
      durationMs: null,
      httpStatus: null,
    });
  });

  it('a denial: `completed`, outcome `denied`, naming no requested entry and no job, whatever the caller passed', () => {
    const draft = deniedDraft({
      ...run,
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 2.4,
      fleetRequestId: 'fleet-1',
      ...({ requestedId: 'smuggled', jobId: 'smuggled', outcome: 'accepted' } as object),
    });
    expect(draft).toMatchObject({
      stage: 'completed',
      outcome: 'denied',
      httpStatus: 403,
      code: 'FORBIDDEN',
      durationMs: 2,
      fleetRequestId: 'fleet-1',
      requestedId: null,
      jobId: null,
    });
    expect(deniedDraft({ ...run, httpStatus: 403, durationMs: 1 })).toMatchObject({ code: null, fleetRequestId: null });
  });

  it('copies only the fields an entry stores: nothing else a caller’s object carries slips in', () => {
    const withToken = { ...actor, token: 'eyJhbGciOi.secret' } as AuditActor;
    const draft = requestedDraft({ ...run, actor: withToken, ...({ password: 'hunter2' } as object) });
    expect(JSON.stringify(draft)).not.toMatch(/secret|hunter2/);
  });

  it('a comment longer than its limit is cut between characters: an emoji straddling the limit goes whole', () => {
    // 1 + 1,000 emoji = 2,001 UTF-16 units: the last emoji's high surrogate sits at the 2,000th unit.
    const comment = `a${'😀'.repeat(1000)}`;
    const cut = deniedDraft({ ...run, comment, httpStatus: 403, code: 'FORBIDDEN', durationMs: 0 }).comment ?? '';
    expect(cut).toBe(`a${'😀'.repeat(999)}`);
    expect(cut.length).toBe(FIELD_LIMITS.comment - 1);
    expect(cut.isWellFormed()).toBe(true);
  });

  it('every string is canonical (lone surrogates and U+0000 replaced) and cut to its field’s limit', () => {
    const long = (n: number) => 'x'.repeat(n + 10);
    const draft = completedDraft({
      requestId: long(FIELD_LIMITS.requestId),
      action: long(FIELD_LIMITS.action) as 'backup.schedule.run',
      actor: {
        subject: `a\u0000b${'\ud800'}`,
        name: long(FIELD_LIMITS.name),
        clientId: long(FIELD_LIMITS.clientId),
        authMethod: 'jwt',
        ip: long(FIELD_LIMITS.ip),
        userAgent: long(FIELD_LIMITS.userAgent),
      },
      appliance: long(FIELD_LIMITS.appliance),
      schedule: long(FIELD_LIMITS.schedule),
      comment: long(FIELD_LIMITS.comment),
      outcome: 'failed',
      httpStatus: 503,
      code: long(FIELD_LIMITS.code),
      jobId: long(FIELD_LIMITS.jobId),
      durationMs: 1,
      fleetRequestId: long(FIELD_LIMITS.fleetRequestId),
      requestedId: long(FIELD_LIMITS.requestedId),
    });
    expect(draft.actor.subject).toBe('a\ufffdb\ufffd');
    const lengths = {
      requestId: draft.requestId.length,
      action: draft.action.length,
      name: draft.actor.name?.length,
      clientId: draft.actor.clientId?.length,
      ip: draft.actor.ip.length,
      userAgent: draft.actor.userAgent?.length,
      appliance: draft.appliance.length,
      schedule: draft.schedule.length,
      comment: draft.comment?.length,
      code: draft.code?.length,
      jobId: draft.jobId?.length,
      fleetRequestId: draft.fleetRequestId?.length,
      requestedId: draft.requestedId?.length,
    };
    const { subject: _subject, replayOf: _replayOf, ...limits } = FIELD_LIMITS;
    expect(lengths).toEqual(limits);
    expect(FIELD_LIMITS.subject).toBe(256);
    expect(requestedDraft({ ...run, actor: { ...actor, subject: long(256) } }).actor.subject).toHaveLength(256);
  });

  it('a completion that settles an Idempotency-Key names its own entry as the one that recorded the answer', () => {
    const response = { status: 202, body: '{}', headers: { 'content-type': 'application/json' } };
    const draft = completedDraft({ ...completion, settles: { caller: 'jwt:alice', key: 'k-1', response } });
    expect(draft.settles).toEqual({ caller: 'jwt:alice', key: 'k-1', response, entryId: draft.id });
    expect(completedDraft(completion)).not.toHaveProperty('settles');
  });

  it('a refusal of our own may be `rejected` (and only that, or `denied`); aggregated refusals carry their count', () => {
    const refusal = { ...run, httpStatus: 409.4, code: 'IDEMPOTENCY_KEY_IN_USE', durationMs: 3 };
    expect(deniedDraft({ ...refusal, outcome: 'rejected' })).toMatchObject({
      stage: 'completed',
      outcome: 'rejected',
      httpStatus: 409,
      count: null,
    });
    expect(deniedDraft({ ...refusal, outcome: 'accepted' as 'denied' }).outcome).toBe('denied');
    expect(deniedDraft({ ...refusal, count: 7.2 }).count).toBe(7);
    expect(deniedDraft({ ...refusal, count: Number.NaN }).count).toBeNull();
  });

  it('a replay: `completed`, outcome `replayed`, naming the entry of the original answer, bounded and canonical', () => {
    const draft = replayedDraft({
      ...run,
      httpStatus: 202,
      code: 'X',
      jobId: 'job-1',
      durationMs: 1.5,
      fleetRequestId: 'fleet-2',
      replayOf: `e\u0000${'1'.repeat(100)}`,
    });
    expect(draft).toEqual({
      id: expect.stringMatching(UUID),
      time: expect.any(String),
      stage: 'completed',
      requestId: 'req-1',
      action: 'backup.schedule.run',
      actor: { ...actor },
      appliance: 'vc-a',
      schedule: 'default',
      comment: 'before the upgrade',
      outcome: 'replayed',
      httpStatus: 202,
      code: 'X',
      jobId: 'job-1',
      durationMs: 2,
      fleetRequestId: 'fleet-2',
      requestedId: null,
      replayOf: `e\ufffd${'1'.repeat(62)}`,
      count: null,
    });
    expect(draft.replayOf).toHaveLength(FIELD_LIMITS.replayOf);
    expect(replayedDraft({ ...run, httpStatus: 202, durationMs: 0, replayOf: 'e' })).toMatchObject({
      code: null,
      jobId: null,
      fleetRequestId: null,
    });
  });

  it('requests past the rate limit: one `completed` entry, outcome `rate_limited`, with their number', () => {
    const draft = rateLimitedDraft({ ...run, httpStatus: 429, code: 'RATE_LIMITED', durationMs: 60_000, count: 12 });
    expect(draft).toEqual({
      id: expect.stringMatching(UUID),
      time: expect.any(String),
      stage: 'completed',
      requestId: 'req-1',
      action: 'backup.schedule.run',
      actor: { ...actor },
      appliance: 'vc-a',
      schedule: 'default',
      comment: 'before the upgrade',
      outcome: 'rate_limited',
      httpStatus: 429,
      code: 'RATE_LIMITED',
      jobId: null,
      durationMs: 60_000,
      fleetRequestId: null,
      requestedId: null,
      replayOf: null,
      count: 12,
    });
    expect(rateLimitedDraft({ ...run, httpStatus: 429, durationMs: 1, count: 1 }).code).toBeNull();
    expect(rateLimitedDraft({ ...run, httpStatus: 429, code: 'x'.repeat(100), durationMs: 1, count: 1 }).code).toBe(
      'x'.repeat(FIELD_LIMITS.code),
    );
  });
});

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { entryHash } from '../../../src/audit/audit-chain.js';
import { FIELD_LIMITS } from '../../../src/audit/audit-draft.js';
import type { AuditAction, AuditActor, AuditEvent } from '../../../src/audit/audit-entry.js';
import type { AuditStore } from '../../../src/audit/store/audit-store.js';
import { PostgresAuditStore } from '../../../src/audit/store/postgres-audit-store.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { canonicalText } from '../../../src/common/text.js';
import { type AuditTrailUnderTest, auditTrail } from '../../support/audit-trail.js';
import { dropSchema, freshSchema } from '../../support/postgres.js';
import { tempDir } from '../../support/temp-dir.js';

/** Each run appends three entries and walks the whole chain: keep the suite fast. */
const RUNS = 25;

/**
 * One character of the text a caller may send: any code point (4-byte ones included), a lone surrogate half, U+0000,
 * or an emoji.
 */
const character = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constant('\u0000') },
  { weight: 1, arbitrary: fc.constantFrom('😀', '𝄞', '\u{10FFFF}', '👩‍👩‍👧') },
);
const shortText = fc.string({ unit: character, maxLength: 24 });
/** Emoji (two UTF-16 units each) across a field's limit, after 0–3 other characters: the cut may fall mid-pair. */
const acrossTheLimit = (limit: number) =>
  fc
    .tuple(fc.string({ unit: character, maxLength: 3 }), fc.integer({ min: limit / 2 - 3, max: limit / 2 + 3 }))
    .map(([start, emoji]) => `${start}${'😀'.repeat(emoji)}`);
const text = (field: keyof typeof FIELD_LIMITS) =>
  fc.oneof({ weight: 3, arbitrary: shortText }, { weight: 1, arbitrary: acrossTheLimit(FIELD_LIMITS[field]) });

const runs = fc.record({
  requestId: text('requestId'),
  action: text('action'),
  subject: text('subject'),
  name: text('name'),
  clientId: text('clientId'),
  ip: text('ip'),
  userAgent: text('userAgent'),
  appliance: text('appliance'),
  schedule: text('schedule'),
  comment: text('comment'),
  code: text('code'),
  jobId: text('jobId'),
  fleetRequestId: text('fleetRequestId'),
  requestedId: text('requestedId'),
});
type Run = typeof runs extends fc.Arbitrary<infer T> ? T : never;

const postgresUrl = process.env.AUDIT_TEST_POSTGRES_URL;
const stores: { name: string; store: (dir: string, schema: string) => AuditStore }[] = [
  { name: 'SQLite', store: (dir) => new SqliteAuditStore(join(dir, 'audit.db')) },
];
if (postgresUrl)
  stores.push({ name: 'PostgreSQL', store: (_, schema) => new PostgresAuditStore(postgresUrl, { schema }) });
else if (process.env.CI) {
  stores.push({
    name: 'PostgreSQL',
    store: () => {
      throw new Error('AUDIT_TEST_POSTGRES_URL is not set although CI is; .ci/postgres.sh did not run');
    },
  });
}

/**
 * Whatever strings a run's entries carry, each entry is read back through the reader exactly as it was hashed (the
 * entry the recorder logged when the store committed it), its hash matches, every string is canonicalText of what
 * was given, and the whole chain verifies after every run.
 */
describe.each(stores)('any text in any audited field ($name)', ({ store }) => {
  let dir: string;
  const schema = freshSchema('audit_property');
  let trail: AuditTrailUnderTest;

  beforeAll(async () => {
    dir = tempDir('audit-property-');
    trail = auditTrail(store(dir, schema), dir);
    await trail.start();
  });
  afterAll(async () => {
    await trail?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (postgresUrl) await dropSchema(postgresUrl, schema);
  });

  it('is stored and read back as hashed, canonical, and the chain verifies each time', async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(runs, async (run) => {
        const { recorder, reader } = trail;
        const actor: AuditActor = {
          subject: run.subject,
          name: run.name,
          clientId: run.clientId,
          authMethod: 'jwt',
          ip: run.ip,
          userAgent: run.userAgent,
        };
        const described = {
          requestId: run.requestId,
          action: run.action as AuditAction,
          actor,
          appliance: run.appliance,
          schedule: run.schedule,
          comment: run.comment,
          fleetRequestId: run.fleetRequestId,
        };
        await recorder.requested(described);
        await recorder.completed({
          ...described,
          outcome: 'accepted',
          httpStatus: 202,
          code: run.code,
          jobId: run.jobId,
          durationMs: 12,
          requestedId: run.requestedId,
        });
        await recorder.denied({ ...described, httpStatus: 403, code: run.code, durationMs: 0 });
        count += 3;

        const { items } = await reader.events({}, 3);
        expect(items).toHaveLength(3);
        for (const event of items) {
          expect(withoutFinalOutcome(event)).toEqual(hashed(trail, event.id));
          expect(entryHash(event)).toBe(event.hash);
          expect(stringsOf(event)).toEqual(expectedStrings(run, event));
        }
        expect(await reader.verify()).toEqual({ ok: true, count });
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});

/** The entry as the store committed and hashed it: the recorder's `audit entry` log line. */
function hashed(trail: AuditTrailUnderTest, id: string): Record<string, unknown> {
  const line = trail.logs.find((l) => l.audit === true && l.msg === 'audit entry' && l.id === id);
  if (!line) throw new Error(`no audit log line for entry ${id}`);
  const { entryTime, level: _level, time: _logTime, service: _service, msg: _msg, audit: _audit, ...fields } = line;
  return { ...fields, time: entryTime };
}

function withoutFinalOutcome(event: AuditEvent): Record<string, unknown> {
  const { finalOutcome: _derived, ...entry } = event;
  return entry;
}

function stringsOf(event: AuditEvent) {
  const { actor } = event;
  return {
    requestId: event.requestId,
    action: event.action,
    subject: actor.subject,
    name: actor.name,
    clientId: actor.clientId,
    ip: actor.ip,
    userAgent: actor.userAgent,
    appliance: event.appliance,
    schedule: event.schedule,
    comment: event.comment,
    code: event.code,
    jobId: event.jobId,
    fleetRequestId: event.fleetRequestId,
    requestedId: event.requestedId,
  };
}

function expectedStrings(run: Run, event: AuditEvent) {
  const canonical = (field: Exclude<keyof typeof FIELD_LIMITS, 'replayOf'>) =>
    canonicalText(run[field], FIELD_LIMITS[field]);
  const completed = event.stage === 'completed';
  const accepted = event.outcome === 'accepted';
  return {
    requestId: canonical('requestId'),
    action: canonical('action'),
    subject: canonical('subject'),
    name: canonical('name'),
    clientId: canonical('clientId'),
    ip: canonical('ip'),
    userAgent: canonical('userAgent'),
    appliance: canonical('appliance'),
    schedule: canonical('schedule'),
    comment: canonical('comment'),
    code: completed ? canonical('code') : null,
    jobId: accepted ? canonical('jobId') : null,
    fleetRequestId: canonical('fleetRequestId'),
    requestedId: accepted ? canonical('requestedId') : null,
  };
}

/**
 * Drafts from what the run path reports: the only place an entry's values are chosen. Every string is made canonical
 * here (canonicalText), before anything hashes it, so that what is hashed is exactly what both stores keep and give
 * back. Only the fields an entry stores are copied: nothing else a caller's object carries (a token) can slip in.
 */
import { randomUUID } from 'node:crypto';
import { canonicalText } from '../common/text.js';
import type {
  AuditActor,
  AuditCompletedInput,
  AuditDeniedInput,
  AuditDraft,
  AuditRateLimitedInput,
  AuditReplayedInput,
  AuditRequestedInput,
  AuditStage,
  StoredActor,
} from './audit-entry.js';
import { NOT_YET_KNOWN } from './audit-entry.js';
import type { KeySettlement } from './idempotency-keys.js';

/**
 * Longest value kept per field, in UTF-16 code units: above anything valid input produces (request ids ≤ 128 and a
 * fleet run's `{fleetRequestId}.{applianceId}`, path ids ≤ 128, comments ≤ 1,000 characters, which may be 2,000
 * units), small enough that no caller-controlled claim or header can flood the trail or outgrow an index.
 */
export const FIELD_LIMITS = {
  requestId: 300,
  action: 64,
  subject: 256,
  name: 256,
  clientId: 256,
  ip: 64,
  userAgent: 256,
  appliance: 128,
  schedule: 128,
  comment: 2000,
  code: 64,
  jobId: 128,
  fleetRequestId: 300,
  requestedId: 64,
  replayOf: 64,
} as const;

export function requestedDraft(input: AuditRequestedInput): AuditDraft {
  return draft('requested', input, { fleetRequestId: optional(input.fleetRequestId, FIELD_LIMITS.fleetRequestId) });
}

export function completedDraft(input: AuditCompletedInput): AuditDraft {
  const completed = draft('completed', input, {
    outcome: input.outcome,
    httpStatus: integerOrNull(input.httpStatus),
    code: optional(input.code, FIELD_LIMITS.code),
    jobId: optional(input.jobId, FIELD_LIMITS.jobId),
    durationMs: integerOrNull(input.durationMs),
    fleetRequestId: optional(input.fleetRequestId, FIELD_LIMITS.fleetRequestId),
    requestedId: optional(input.requestedId, FIELD_LIMITS.requestedId),
  });
  if (input.settles) completed.settles = { ...input.settles, entryId: completed.id } as KeySettlement;
  return completed;
}

/** Our own 403: a `completed` entry, outcome `denied`, naming no `requested` entry (there is none). */
export function deniedDraft(input: AuditDeniedInput): AuditDraft {
  return draft('completed', input, {
    // Only the two outcomes a refusal can have, whatever a caller's object smuggles in.
    outcome: input.outcome === 'rejected' ? 'rejected' : 'denied',
    httpStatus: integerOrNull(input.httpStatus),
    code: optional(input.code, FIELD_LIMITS.code),
    durationMs: integerOrNull(input.durationMs),
    fleetRequestId: optional(input.fleetRequestId, FIELD_LIMITS.fleetRequestId),
    count: integerOrNull(input.count),
  });
}

/** An Idempotency-Key retry answered from the store: the request itself, and the entry of the original answer. */
export function replayedDraft(input: AuditReplayedInput): AuditDraft {
  return draft('completed', input, {
    outcome: 'replayed',
    httpStatus: integerOrNull(input.httpStatus),
    code: optional(input.code, FIELD_LIMITS.code),
    jobId: optional(input.jobId, FIELD_LIMITS.jobId),
    durationMs: integerOrNull(input.durationMs),
    fleetRequestId: optional(input.fleetRequestId, FIELD_LIMITS.fleetRequestId),
    replayOf: canonicalText(input.replayOf, FIELD_LIMITS.replayOf),
  });
}

/** Run requests one caller sent past its rate limit in one window, as one entry. */
export function rateLimitedDraft(input: AuditRateLimitedInput): AuditDraft {
  return draft('completed', input, {
    outcome: 'rate_limited',
    httpStatus: integerOrNull(input.httpStatus),
    code: optional(input.code, FIELD_LIMITS.code),
    durationMs: integerOrNull(input.durationMs),
    count: integerOrNull(input.count),
  });
}

/** What every record call says about the run itself. */
type RunInput = Pick<AuditRequestedInput, 'requestId' | 'action' | 'actor' | 'appliance' | 'schedule' | 'comment'>;

function draft(stage: AuditStage, input: RunInput, rest: Partial<AuditDraft>): AuditDraft {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    stage,
    requestId: canonicalText(input.requestId, FIELD_LIMITS.requestId),
    action: canonicalText(input.action, FIELD_LIMITS.action) as AuditDraft['action'],
    actor: storedActor(input.actor),
    appliance: canonicalText(input.appliance, FIELD_LIMITS.appliance),
    schedule: canonicalText(input.schedule, FIELD_LIMITS.schedule),
    comment: optional(input.comment, FIELD_LIMITS.comment),
    ...NOT_YET_KNOWN,
    ...rest,
  };
}

function storedActor(actor: AuditActor): StoredActor {
  return {
    subject: canonicalText(actor.subject, FIELD_LIMITS.subject),
    name: optional(actor.name, FIELD_LIMITS.name),
    clientId: optional(actor.clientId, FIELD_LIMITS.clientId),
    authMethod: actor.authMethod,
    ip: canonicalText(actor.ip, FIELD_LIMITS.ip),
    userAgent: optional(actor.userAgent, FIELD_LIMITS.userAgent),
  };
}

function optional(value: string | null | undefined, maxLength: number): string | null {
  return value === undefined || value === null ? null : canonicalText(value, maxLength);
}

function integerOrNull(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : null;
}

import { randomUUID } from 'node:crypto';
import { type AuditActor, type AuditDraft, NOT_YET_KNOWN } from '../../src/audit/audit-entry.js';

export const ALICE = {
  subject: 'alice',
  name: 'Alice Example',
  clientId: 'portal',
  authMethod: 'jwt' as const,
  ip: '10.0.4.17',
  userAgent: 'curl/8.5.0',
} satisfies AuditActor;

export const DAY_MS = 24 * 60 * 60 * 1000;

export function daysAgo(days: number): string {
  return new Date(Date.now() - days * DAY_MS).toISOString();
}

/** A `requested` draft unless overridden; every field filled the way the service fills it. */
export function draft(overrides: Partial<AuditDraft> = {}): AuditDraft {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    stage: 'requested',
    requestId: randomUUID(),
    action: 'backup.schedule.run',
    actor: { ...ALICE, userAgent: null },
    appliance: 'vc-a',
    schedule: 'default',
    comment: null,
    ...NOT_YET_KNOWN,
    ...overrides,
  };
}

/** The `completed` partner of a requested draft. */
export function completion(requested: AuditDraft, overrides: Partial<AuditDraft> = {}): AuditDraft {
  return draft({
    requestId: requested.requestId,
    actor: requested.actor,
    appliance: requested.appliance,
    schedule: requested.schedule,
    stage: 'completed',
    outcome: 'accepted',
    httpStatus: 202,
    jobId: '20260310-081502-00000001',
    durationMs: 412,
    requestedId: requested.id,
    ...overrides,
  });
}

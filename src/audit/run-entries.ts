/**
 * The run's vocabulary for the audit trail, written once for every writer (the run use case, Idempotency-Key replays,
 * rate-limit refusals): who asked (the actor, keyed on the CallerId), and which run (the entry every stage repeats).
 */
import type { Principal } from '../auth/principal.js';
import type { CallOrigin } from '../context/call-origin.js';
import type { AuditActor, AuditRequestedInput } from './audit-entry.js';

/** User agents are caller-controlled text: keep enough to recognise a tool, not enough to flood the trail. */
const MAX_USER_AGENT = 256;

/** The actor as the audit trail stores it: identity and origin, never the credential. */
export function auditActor(principal: Principal, origin: CallOrigin): AuditActor {
  return {
    subject: principal.caller,
    name: principal.name,
    clientId: principal.clientId,
    authMethod: principal.authMethod,
    ip: origin.ip,
    userAgent: origin.userAgent?.slice(0, MAX_USER_AGENT),
  };
}

/** What every audit entry of one run on one appliance says: who, which run, under which request ids. */
export function runEntry(
  actor: AuditActor,
  run: { requestId: string; appliance: string; schedule: string; comment?: string; fleetRequestId?: string },
): AuditRequestedInput {
  return { action: 'backup.schedule.run', actor, ...run };
}

/** The entry of a run as one request asks for it: the request's caller and origin, under the request's own id. */
export function requestedRunEntry(
  principal: Principal,
  origin: CallOrigin,
  run: { appliance: string; schedule: string; comment?: string },
): AuditRequestedInput {
  return runEntry(auditActor(principal, origin), { requestId: origin.requestId, ...run });
}

/**
 * The run's vocabulary for the audit trail: who asked (the actor), which run (the entry every stage repeats), and
 * how a failure reads (the outcome).
 */
import type { AuditActor, AuditOutcome, AuditRequestedInput } from '../audit/audit-entry.js';
import type { Principal } from '../auth/principal.js';
import { requestContext } from '../context/request-context.js';
import { GatewayError } from '../problems/gateway-error.js';

/** User agents are caller-controlled text: keep enough to recognise a tool, not enough to flood the trail. */
const MAX_USER_AGENT = 256;

/** The actor as the audit trail stores it: identity and origin, never the credential. */
export function auditActor(principal: Principal): AuditActor {
  const origin = requestContext.origin();
  return {
    subject: principal.caller,
    name: principal.name,
    clientId: principal.clientId,
    authMethod: principal.authMethod,
    ip: origin?.ip ?? 'unknown',
    userAgent: origin?.userAgent?.slice(0, MAX_USER_AGENT),
  };
}

/** What every audit entry of one run on one appliance says: who, which run, under which request ids. */
export function runEntry(
  actor: AuditActor,
  run: { requestId: string; appliance: string; schedule: string; comment?: string; fleetRequestId?: string },
): AuditRequestedInput {
  return { action: 'backup.schedule.run', actor, ...run };
}

export interface RunFailure {
  outcome: AuditOutcome;
  httpStatus: number;
  code: string;
}

/**
 * How a failed run reads in the audit trail. `unknown` whenever the backup may have started (a timeout, a lost
 * connection, an answer that is not the appliance's own, or a bug of ours after sending); `rejected` when the
 * appliance (or our own table of appliances) said no; `failed` when it could not be done.
 */
export function runFailure(error: unknown): RunFailure {
  if (!(error instanceof GatewayError)) return { outcome: 'unknown', httpStatus: 500, code: 'INTERNAL_ERROR' };
  const { status, code } = error;
  if (error.details.mayHaveStarted) return { outcome: 'unknown', httpStatus: status, code };
  if (status >= 400 && status < 500) return { outcome: 'rejected', httpStatus: status, code };
  return { outcome: 'failed', httpStatus: status, code };
}

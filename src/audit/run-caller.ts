import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import type { AuditActor, AuditDeniedInput, AuditRequestedInput } from './audit-entry.js';

/** Who asked for a run and under which request id: what the audit trail records beside the run itself. */
export interface RunCaller {
  requestId: string;
  actor: AuditActor;
}

/** One run as the audit trail and the appliance see it. */
export interface RunRequest {
  appliance: string;
  schedule: string;
  comment?: string;
  /** The fleet request this run is part of, if any; the caller's `requestId` is then this run's own id. */
  fleetRequestId?: string;
}

/** What every audit entry of a run says about it: who, which run, under which request ids. */
export function runEntry(caller: RunCaller, run: RunRequest): AuditRequestedInput {
  return {
    requestId: caller.requestId,
    action: 'backup.schedule.run',
    actor: caller.actor,
    appliance: run.appliance,
    schedule: run.schedule,
    comment: run.comment,
    fleetRequestId: run.fleetRequestId,
  };
}

/** A run refused by our own scope check: nothing was sent, so it is over as soon as it is refused. */
export function deniedRun(caller: RunCaller, run: RunRequest): AuditDeniedInput {
  return { ...runEntry(caller, run), httpStatus: 403, code: 'FORBIDDEN', durationMs: 0 };
}

/** User agents are caller-controlled text: keep enough to recognise a tool, not enough to flood the trail. */
const MAX_USER_AGENT = 256;

/** The actor as the audit trail stores it: identity and origin, never the credential. */
export function auditActor(principal: Principal, request: FastifyRequest): AuditActor {
  const userAgent = request.headers['user-agent'];
  return {
    subject: principal.subject,
    name: principal.name,
    clientId: principal.clientId,
    authMethod: principal.authMethod,
    ip: request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT) : undefined,
  };
}

export function runCaller(request: FastifyRequest & { user?: Principal }): RunCaller {
  if (!request.user) throw new Error('runCaller needs an authenticated request (CallerGuard runs first)');
  return { requestId: request.id, actor: auditActor(request.user, request) };
}

/** Controller parameter: the authenticated caller of a run, for the audit trail. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): RunCaller => {
  return runCaller(context.switchToHttp().getRequest());
});

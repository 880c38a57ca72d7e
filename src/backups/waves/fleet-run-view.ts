/** A stored fleet run as callers see it, and who may see or cancel it. */
import type { FleetMemberRecord, FleetRunRecord } from '../../audit/fleet-runs.js';
import { accessPolicy } from '../../auth/access-policy.js';
import type { Principal } from '../../auth/principal.js';
import type { ProblemDocument } from '../../problems/problem-document.js';
import type { FleetRunMemberDto, FleetRunStateDto } from './dto/fleet-run-state.dto.js';

export function fleetRunView(run: FleetRunRecord): FleetRunStateDto {
  const { subject, name, authMethod } = run.actor;
  return {
    id: run.id,
    state: run.state,
    createdAt: run.createdAt,
    ...(run.endedAt !== undefined && { endedAt: run.endedAt }),
    actor: { subject, ...(name !== undefined && name !== null && { name }), authMethod },
    schedule: run.schedule,
    ...(run.comment !== undefined && { comment: run.comment }),
    requestId: run.requestId,
    members: run.members.map(memberView),
  };
}

function memberView(member: FleetMemberRecord): FleetRunMemberDto {
  return {
    appliance: member.appliance,
    target: member.target,
    // A member being sent holds its target's slot like a running one; callers see no difference.
    state: member.state === 'starting' ? 'running' : member.state,
    ...(member.jobId !== undefined && { jobId: member.jobId }),
    ...(member.error !== undefined && { error: JSON.parse(member.error) as ProblemDocument }),
    ...(member.startedAt !== undefined && { startedAt: member.startedAt }),
    ...(member.endedAt !== undefined && { endedAt: member.endedAt }),
  };
}

/** The caller who started it, or one who may read every one of its appliances (`backups:read`). */
export function mayRead(principal: Principal, run: FleetRunRecord): boolean {
  return (
    principal.caller === run.caller ||
    run.members.every((member) => accessPolicy.allows(principal, 'backups:read', member.appliance))
  );
}

/** The caller who started it, or one who may run on every one of its appliances (`backups:run`). */
export function mayCancel(principal: Principal, run: FleetRunRecord): boolean {
  return (
    principal.caller === run.caller ||
    run.members.every((member) => accessPolicy.allows(principal, 'backups:run', member.appliance))
  );
}

import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import { ID_PATTERN } from '../../common/identifier.js';
import type { KeyHold } from './idempotent-runs.service.js';
import type { RunKey } from './runs.service.js';

/** Which appliances a run route addresses: the one in its path, the default one (short form), or a fleet. */
export type RunTarget = 'path' | 'default' | 'fleet';

const RUN_TARGET = 'backup-gateway:run-target';

/** Marks a run route for the admission guard and the Idempotency-Key interceptor. */
export const RunRoute = (target: RunTarget) => SetMetadata(RUN_TARGET, target);

export function runTargetOf(context: ExecutionContext): RunTarget {
  return Reflect.getMetadata(RUN_TARGET, context.getHandler()) as RunTarget;
}

/** A run request as the guard and interceptor see it: after authentication, before validation. */
export type RunHttpRequest = FastifyRequest & { user: Principal; runKey?: KeyHold };

/**
 * What a run request asks, read before validation for the audit entries of its admission and of its key (a refusal
 * or a replay): strings only, the entry drafts bound and canonicalise them. `appliance` is undefined when the path's
 * or query's id is malformed: validation refuses the request (400) before anything runs.
 */
export function describeRun(
  request: RunHttpRequest,
  target: RunTarget,
  resolve: (appliance?: string) => string,
): { appliance: string | undefined; schedule: string; comment?: string } {
  const params = request.params as Record<string, unknown>;
  const body = (request.body ?? {}) as Record<string, unknown>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const schedule = text(params.scheduleId) ?? text(body.schedule) ?? '*';
  const comment = text(body.comment);
  if (target === 'fleet') return { appliance: '*', schedule, comment };
  const named = target === 'path' ? text(params.applianceId) : text(query.appliance);
  if (named !== undefined && !ID_PATTERN.test(named)) return { appliance: undefined, schedule, comment };
  return { appliance: target === 'path' ? named : resolve(named), schedule, comment };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The Idempotency-Key the interceptor holds for this request, if the caller sent one. */
export const HeldKey = createParamDecorator((_data: unknown, context: ExecutionContext): RunKey | undefined => {
  const request = context.switchToHttp().getRequest<RunHttpRequest>();
  return request.runKey && { hold: request.runKey, instance: request.url.split('?')[0] };
});

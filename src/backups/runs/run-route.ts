import { createParamDecorator, type ExecutionContext, SetMetadata, type Type } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.js';
import { type CallOrigin, originOf } from '../../context/call-origin.js';

/** Which appliances a run route addresses: the one in its path, the default one (short form), or a fleet. */
export type RunTarget = 'path' | 'default' | 'fleet';

/** A run route: what it addresses, and its input as its pipes check it (path ids, query and body DTOs). */
export interface RunRouteSpec {
  target: RunTarget;
  ids: string[];
  query: Type<object>;
  body: Type<object>;
}

const RUN_ROUTE = 'backup-gateway:run-route';

/** Marks a run route for the admission guard, which checks its input before anything else runs. */
export const RunRoute = (spec: RunRouteSpec) => SetMetadata(RUN_ROUTE, spec);

export function runRouteOf(context: ExecutionContext): RunRouteSpec {
  return Reflect.getMetadata(RUN_ROUTE, context.getHandler()) as RunRouteSpec;
}

/**
 * What the admission guard found a run request to ask, once: its validated body, the appliance, the audit words, and
 * where it comes from.
 */
export interface AdmittedRun {
  body: object;
  origin: CallOrigin;
  /** The appliance of a single run (the short form's resolved), `*` for a fleet. */
  appliance: string;
  schedule: string;
  comment?: string;
}

/** A run request as the guard, KeyedRuns and the handler see it. */
export type RunHttpRequest = FastifyRequest & { user: Principal; admitted?: AdmittedRun };

/**
 * What a run request asks, for the audit entries of its admission and of its key (a refusal or a replay), read from
 * the input the admission guard has just checked.
 */
export function describeRun(
  request: RunHttpRequest,
  target: RunTarget,
  body: object,
  resolve: (appliance?: string) => string,
): AdmittedRun {
  const params = request.params as Record<string, unknown>;
  const fields = body as Record<string, unknown>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  const schedule = text(params.scheduleId) ?? text(fields.schedule) ?? '*';
  const comment = text(fields.comment);
  const origin = originOf(request);
  if (target === 'fleet') return { body, origin, appliance: '*', schedule, comment };
  const named = target === 'path' ? text(params.applianceId) : text(query.appliance);
  return { body, origin, appliance: target === 'path' ? (named ?? '') : resolve(named), schedule, comment };
}

/** The run as the admission guard admitted it (its body validated once, there). */
export function admittedRun(request: RunHttpRequest): AdmittedRun {
  if (!request.admitted) throw new Error('a run route without RunAdmissionGuard');
  return request.admitted;
}

export const Admitted = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AdmittedRun => admittedRun(context.switchToHttp().getRequest()),
);

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

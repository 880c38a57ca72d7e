import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { resolveTargetAppliance } from '../appliances/target-appliance.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { deniedRun, runCaller } from '../audit/run-caller.js';
import { GatewayError } from '../problems/gateway-error.js';
import { REQUIRED_SCOPE, ScopeRequirement } from './auth.decorators.js';
import type { Principal } from './principal.js';
import { hasAnyOf, mayUseAppliance } from './scopes.js';

/** Global guard, after CallerGuard: checks the route's @RequireScope against the caller's scopes. */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly registry: ApplianceRegistry,
    private readonly audit: AuditRecorder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<ScopeRequirement | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirement) return true;
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: Principal; targetAppliance?: string }>();
    const principal = request.user;
    if (!principal) throw new GatewayError('UNAUTHENTICATED', 'Authentication required.');
    const { family } = requirement;
    if (requirement.on === 'global') {
      if (principal.scopes.has(family)) return true;
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} (not only ${family}:{applianceId}).`);
    }
    if (requirement.on === 'any') {
      if (hasAnyOf(principal, family)) return true;
      await this.recordDeniedRun(request, family, '*');
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} (or ${family}:{applianceId}).`);
    }
    const appliance = resolveTargetAppliance(request, this.registry);
    if (!mayUseAppliance(principal, family, appliance)) {
      await this.recordDeniedRun(request, family, appliance);
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} or ${family}:${appliance}.`, { appliance });
    }
    request.targetAppliance = appliance;
    return true;
  }

  /**
   * A refused run is part of the audit trail (who tried what); refused reads are not. The body has not been
   * validated yet, so only a plain string schedule and comment are taken from it; appliance `*` is a fleet run.
   */
  private async recordDeniedRun(request: FastifyRequest, family: string, appliance: string): Promise<void> {
    if (family !== 'backups:run') return;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const schedule = params.scheduleId ?? body.schedule;
    await this.audit.denied(
      deniedRun(runCaller(request), {
        appliance,
        schedule: typeof schedule === 'string' ? schedule.slice(0, 128) : '',
        comment: typeof body.comment === 'string' ? body.comment.slice(0, 1000) : undefined,
      }),
    );
  }
}

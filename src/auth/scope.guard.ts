import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { resolveTargetAppliance } from '../appliances/target-appliance.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { REQUIRED_SCOPE, ScopeRequirement } from './auth.decorators.js';
import type { Principal } from './principal.js';
import { hasAnyOf, mayUseAppliance } from './scopes.js';

/** Global guard, after CallerGuard: checks the route's @RequireScope against the caller's scopes. */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: GatewayConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
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
    if (requirement.on === 'any') {
      if (hasAnyOf(principal, family)) return true;
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} (or ${family}:{applianceId}).`);
    }
    const appliance = resolveTargetAppliance(request, this.config);
    if (!mayUseAppliance(principal, family, appliance)) {
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} or ${family}:${appliance}.`, { appliance });
    }
    request.targetAppliance = appliance;
    return true;
  }
}

import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GatewayError } from '../problems/gateway-error.js';
import { REQUIRED_SCOPE, ScopeRequirement } from './auth.decorators.js';
import type { Principal } from './principal.js';
import { hasAnyOf, mayUseAppliance } from './scopes.js';

/**
 * Global guard, after AuthenticationGuard: may this principal call this route at all? It reads the route's
 * @RequireScope and the principal, and never records anything: a decision that must be audited (a refused run)
 * belongs to the use case that also does the work.
 */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const requirement = this.reflector.getAllAndOverride<ScopeRequirement | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirement || requirement.on === 'use-case') return true;
    const request = context.switchToHttp().getRequest<{ user?: Principal; params?: Record<string, unknown> }>();
    const principal = request.user;
    if (!principal) throw new GatewayError('UNAUTHENTICATED', 'Authentication required.');
    const { family, on } = requirement;
    if (on === 'all') {
      if (principal.scopes.has(family)) return true;
      throw new GatewayError('FORBIDDEN', `This covers every appliance, so it needs scope ${family} itself.`);
    }
    if (on === 'any') {
      if (hasAnyOf(principal, family)) return true;
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} (or ${family}:{applianceId}).`);
    }
    // The id is compared as text only; the route's IdentifierPipe validates it before anything uses it.
    const appliance = String(request.params?.applianceId ?? '');
    if (mayUseAppliance(principal, family, appliance)) return true;
    throw new GatewayError('FORBIDDEN', `This needs scope ${family} or ${family}:${appliance}.`, { appliance });
  }
}

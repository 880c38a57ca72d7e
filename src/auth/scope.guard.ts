import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GatewayError } from '../problems/gateway-error.js';
import { type AccessRequirement, accessPolicy } from './access-policy.js';
import { REQUIRED_SCOPE } from './auth.decorators.js';
import type { Principal } from './principal.js';

/**
 * Global guard, after AuthenticationGuard: may this principal call this route at all? It reads the route's
 * @RequireScope and the principal, and never records anything: a decision that must be audited (a refused run)
 * belongs to the use case that also does the work.
 */
@Injectable()
export class ScopeGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const requirement = this.reflector.getAllAndOverride<AccessRequirement | undefined>(REQUIRED_SCOPE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!requirement) return true;
    const request = context.switchToHttp().getRequest<{ user?: Principal; params?: Record<string, unknown> }>();
    const principal = request.user;
    if (!principal) throw new GatewayError('UNAUTHENTICATED', 'Authentication required.');
    // The id is compared as text only; the route's IdentifierPipe validates it before anything uses it.
    accessPolicy.assertRoute(principal, requirement, String(request.params?.applianceId ?? ''));
    return true;
  }
}

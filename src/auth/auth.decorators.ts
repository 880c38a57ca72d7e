import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import type { Principal } from './principal.js';
import type { ScopeFamily } from './scopes.js';

export const IS_PUBLIC = 'backup-gateway:public';
export const REQUIRED_SCOPE = 'backup-gateway:required-scope';

export interface ScopeRequirement {
  family: ScopeFamily;
  /**
   * 'appliance': the family or its `:{applianceId}` form for the addressed appliance; 'any': any form at all;
   * 'global': the bare family only (the route covers every appliance at once).
   */
  on: 'appliance' | 'any' | 'global';
}

/** No caller credentials needed (health probes). Everything else is closed unless this is present. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The whole access policy of a route in one line: authenticated caller (global CallerGuard), the
 * scope (global ScopeGuard), and the matching OpenAPI security and 401/403 problem responses,
 * so the documentation cannot disagree with the check.
 */
export function RequireScope(family: ScopeFamily, on: ScopeRequirement['on'] = 'appliance') {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPE, { family, on } satisfies ScopeRequirement),
    ApiBearerAuth('jwt'),
    ApiSecurity('apiKey'),
    ApiProblems(401, 403),
  );
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});

/** The appliance the scope guard resolved and authorized for this request. */
export const TargetAppliance = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  return context.switchToHttp().getRequest<{ targetAppliance: string }>().targetAppliance;
});

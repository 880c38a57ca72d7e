import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import type { Principal } from './principal.js';
import type { ScopeFamily } from './scopes.js';

export const IS_PUBLIC = 'backup-gateway:public';
export const REQUIRED_SCOPE = 'backup-gateway:required-scope';

/**
 * Which form of a scope family a route needs:
 * - `appliance`: the family, or `{family}:{applianceId}` for the appliance in the path;
 * - `any`: any form (the route shows each caller what it may see);
 * - `all`: the bare family only (the route covers every appliance at once, e.g. verifying the whole audit chain);
 * - `use-case`: the route's use case decides per appliance, because its refusals are audited (runs).
 */
export type ScopeCheck = 'appliance' | 'any' | 'all' | 'use-case';

export interface ScopeRequirement {
  family: ScopeFamily;
  on: ScopeCheck;
}

/** No caller credentials needed (health probes). Everything else is closed unless this is present. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The whole access policy of a route in one line: an authenticated caller (global AuthenticationGuard), the scope
 * (global ScopeGuard, or the use case for `use-case`), and the matching OpenAPI security and 401/403 problem
 * responses, so the documentation cannot disagree with the check.
 */
export function RequireScope(family: ScopeFamily, on: ScopeCheck = 'appliance') {
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPE, { family, on } satisfies ScopeRequirement),
    ApiBearerAuth('jwt'),
    ApiSecurity('apiKey'),
    ApiProblems(401, 403),
  );
}

/** The authenticated principal of the request (set by AuthenticationGuard). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});

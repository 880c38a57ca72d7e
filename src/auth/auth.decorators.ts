import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiSecurity } from '@nestjs/swagger';
import { ApiProblems } from '../problems/api-problems.decorator.js';
import type { AccessRequirement, AccessRule } from './access-policy.js';
import type { Principal } from './principal.js';
import type { ScopeFamily } from './scopes.js';

export const IS_PUBLIC = 'backup-gateway:public';
export const REQUIRED_SCOPE = 'backup-gateway:required-scope';

/** No caller credentials needed (health probes). Everything else is closed unless this is present. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * The whole access policy of a route in one line: an authenticated caller (global AuthenticationGuard), the scope
 * (global ScopeGuard, or the use case for `use-case`; the rules are access-policy.ts), and the matching OpenAPI
 * security, `x-access` and 401/403 problem responses, so the documentation cannot disagree with the check.
 */
export function RequireScope(family: ScopeFamily, on: AccessRule = 'appliance') {
  const requirement: AccessRequirement = { family, on };
  return applyDecorators(
    SetMetadata(REQUIRED_SCOPE, requirement),
    // In the contract: a route whose rule is loosened (an `appliance` route made `any`) changes the committed document.
    ApiExtension('x-access', { scope: family, rule: on }),
    ApiBearerAuth('jwt'),
    ApiSecurity('apiKey'),
    ApiProblems(401, 403),
  );
}

/** The authenticated principal of the request (set by AuthenticationGuard). */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  return context.switchToHttp().getRequest<{ user: Principal }>().user;
});

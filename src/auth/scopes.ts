import type { Principal } from './principal.js';

export type ScopeFamily = 'backups:run' | 'backups:read' | 'audit:read';

/** `backups:run` covers every appliance; `backups:run:{applianceId}` only that one. Deny by default. */
export function mayUseAppliance(principal: Principal, family: ScopeFamily, applianceId: string): boolean {
  return principal.scopes.has(family) || principal.scopes.has(`${family}:${applianceId}`);
}

/** Holds the family at all, for any appliance (e.g. to list the appliances it may see). */
export function hasAnyOf(principal: Principal, family: ScopeFamily): boolean {
  if (principal.scopes.has(family)) return true;
  const prefix = `${family}:`;
  for (const scope of principal.scopes) if (scope.startsWith(prefix)) return true;
  return false;
}

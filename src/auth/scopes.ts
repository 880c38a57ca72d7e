import type { Principal } from './principal.js';

export type ScopeFamily = 'backups:run' | 'backups:read' | 'audit:read';

/** `backups:run` covers every appliance; `backups:run:{applianceId}` only that one. Deny by default. */
export function mayUseAppliance(principal: Principal, family: ScopeFamily, applianceId: string): boolean {
  return principal.scopes.has(family) || principal.scopes.has(`${family}:${applianceId}`);
}

/** Holds the family at all, for any appliance (e.g. to list the appliances it may see). */
export function hasAnyOf(principal: Principal, family: ScopeFamily): boolean {
  return principal.scopes.has(family) || scopedAppliances(principal, family).length > 0;
}

/** The appliances named one by one in the family's `{family}:{applianceId}` scopes (the bare family is not one). */
export function scopedAppliances(principal: Principal, family: ScopeFamily): string[] {
  const prefix = `${family}:`;
  return [...principal.scopes].filter((scope) => scope.startsWith(prefix)).map((scope) => scope.slice(prefix.length));
}

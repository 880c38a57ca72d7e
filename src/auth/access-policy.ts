import { GatewayError } from '../problems/gateway-error.js';
import type { Principal } from './principal.js';
import { hasAnyOf, mayUseAppliance, type ScopeFamily, scopedAppliances } from './scopes.js';

/**
 * How a route's scope applies, stated once per route by @RequireScope and published in the OpenAPI document as
 * `x-access` (so a loosened route shows in the committed contract):
 * - `appliance`: the family, or `{family}:{applianceId}` for the appliance in the path;
 * - `any`: any form; the route then shows each caller only the appliances it may see (`visibleAppliances`);
 * - `all`: the bare family only (the route covers every appliance at once, e.g. verifying the whole audit chain);
 * - `use-case`: the use case decides per appliance with `allows`, because its refusals are audited (runs).
 */
export type AccessRule = 'appliance' | 'any' | 'all' | 'use-case';

export interface AccessRequirement {
  family: ScopeFamily;
  on: AccessRule;
}

/** Which appliances a principal may see under a family: every one, or those named in `{family}:{id}` scopes. */
export type VisibleAppliances = { all: true } | { all: false; appliances: string[] };

/**
 * The one place per-appliance access is decided: the global ScopeGuard (route rules), the run use case (each
 * appliance of a run), the audit trail and the appliance list (what a caller may see) all ask here.
 */
export const accessPolicy = {
  /** May the principal act on this one appliance under the family? Deny by default; ids compare exactly. */
  allows(principal: Principal, family: ScopeFamily, appliance: string): boolean {
    return mayUseAppliance(principal, family, appliance);
  },

  /** Holds the family in any form (the bare family or any `{family}:{id}`). */
  allowsAny(principal: Principal, family: ScopeFamily): boolean {
    return hasAnyOf(principal, family);
  },

  visibleAppliances(principal: Principal, family: ScopeFamily): VisibleAppliances {
    if (principal.scopes.has(family)) return { all: true };
    return { all: false, appliances: scopedAppliances(principal, family) };
  },

  /** The route rule, as the ScopeGuard applies it; `appliance` is the path's applianceId (compared as text). */
  assertRoute(principal: Principal, { family, on }: AccessRequirement, appliance: string): void {
    if (on === 'use-case') return;
    if (on === 'all') {
      if (principal.scopes.has(family)) return;
      throw new GatewayError('FORBIDDEN', `This covers every appliance, so it needs scope ${family} itself.`);
    }
    if (on === 'any') {
      if (hasAnyOf(principal, family)) return;
      throw new GatewayError('FORBIDDEN', `This needs scope ${family} (or ${family}:{applianceId}).`);
    }
    if (mayUseAppliance(principal, family, appliance)) return;
    throw new GatewayError('FORBIDDEN', `This needs scope ${family} or ${family}:${appliance}.`, { appliance });
  },
};

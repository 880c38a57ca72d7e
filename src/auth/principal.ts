import { canonicalText } from '../common/text.js';
import type { ApiKeyConfig } from '../config/gateway-config.js';
import { apiKeyCaller, type CallerId, jwtCaller } from './caller-id.js';

/** How a caller proved who it is: a bearer token, an API key, or a console session (a person in the browser). */
export const AUTH_METHODS = ['jwt', 'apiKey', 'session'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** The authenticated caller, as every later stage (scopes, limits, audit) sees it. Never holds the credential itself. */
export interface Principal {
  /** Who is calling, the one key for everything that belongs to a caller (caller-id.ts). */
  caller: CallerId;
  name?: string;
  clientId?: string;
  authMethod: AuthMethod;
  scopes: ReadonlySet<string>;
}

/** Claims are text the identity provider signed, not text we trust: canonical and bounded before anyone keeps it. */
const MAX_CLAIM_LENGTH = 256;

/**
 * The principal of a verified access token. `sub` is required (RFC 9068 §2.2): without it every such token would be
 * one shared caller. The issuer is the configured one the token was verified against.
 */
export function principalFromClaims(issuer: string, claims: Record<string, unknown>): Principal | undefined {
  const subject = stringClaim(claims, 'sub');
  if (subject === undefined) return undefined;
  return {
    caller: jwtCaller(issuer, subject),
    name: stringClaim(claims, 'name') ?? stringClaim(claims, 'preferred_username'),
    clientId: stringClaim(claims, 'client_id') ?? stringClaim(claims, 'azp') ?? stringClaim(claims, 'appid'),
    authMethod: 'jwt',
    scopes: scopesFromClaims(claims),
  };
}

/** The principal of a configured API key (a service account). */
export function principalFromApiKey(key: Pick<ApiKeyConfig, 'id' | 'name' | 'scopes'>): Principal {
  return {
    caller: apiKeyCaller(key.id),
    name: key.name ?? key.id,
    clientId: key.id,
    authMethod: 'apiKey',
    scopes: new Set(key.scopes),
  };
}

/** Scopes from an OAuth access token: `scope` (space-separated, RFC 9068) or `scp` (array, as Entra/Okta send). */
export function scopesFromClaims(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  if (typeof claims.scope === 'string') for (const s of claims.scope.split(' ')) if (s) scopes.add(s);
  if (Array.isArray(claims.scp)) for (const s of claims.scp) if (typeof s === 'string' && s) scopes.add(s);
  if (typeof claims.scp === 'string') for (const s of claims.scp.split(' ')) if (s) scopes.add(s);
  return scopes;
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value !== '' ? canonicalText(value, MAX_CLAIM_LENGTH) : undefined;
}

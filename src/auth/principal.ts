/** The authenticated caller, as every later stage (scopes, audit) sees it. Never holds the credential itself. */
export interface Principal {
  subject: string;
  name?: string;
  clientId?: string;
  /** `session`: a person signed in to the operator console (a server-side session behind a cookie). */
  authMethod: 'jwt' | 'apiKey' | 'session';
  scopes: ReadonlySet<string>;
}

/** Scopes from an OAuth access token: `scope` (space-separated, RFC 9068) or `scp` (array, as Entra/Okta send). */
export function scopesFromClaims(claims: Record<string, unknown>): Set<string> {
  const scopes = new Set<string>();
  if (typeof claims.scope === 'string') for (const s of claims.scope.split(' ')) if (s) scopes.add(s);
  if (Array.isArray(claims.scp)) for (const s of claims.scp) if (typeof s === 'string' && s) scopes.add(s);
  if (typeof claims.scp === 'string') for (const s of claims.scp.split(' ')) if (s) scopes.add(s);
  return scopes;
}

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { CONSOLE_HEADERS } from './api/client';

/** GET /console/session: who is signed in and with which scopes. The console never sees a token or a session id. */
export interface SessionInfo {
  signedIn: boolean;
  subject?: string;
  name?: string;
  via?: 'oidc' | 'apiKey';
  scopes?: string[];
  idleMinutes?: number;
  expiresAt?: string;
  login: { oidc: boolean; apiKey: boolean };
}

export async function loadSession(): Promise<SessionInfo> {
  const response = await fetch('/console/session', { headers: CONSOLE_HEADERS, credentials: 'same-origin' });
  if (!response.ok) throw new Error(`The console session could not be read (${response.status}).`);
  return (await response.json()) as SessionInfo;
}

export type ScopeFamily = 'backups:run' | 'backups:read' | 'audit:read';

/** What the user may do, as the API decides it: a family covers every appliance, `family:id` one. */
export class Scopes {
  constructor(private readonly scopes: readonly string[]) {}

  may(family: ScopeFamily, appliance: string): boolean {
    return this.scopes.includes(family) || this.scopes.includes(`${family}:${appliance}`);
  }

  /** The family itself, for every appliance (not one `family:id`). */
  all(family: ScopeFamily): boolean {
    return this.scopes.includes(family);
  }

  any(family: ScopeFamily): boolean {
    return this.scopes.some((scope) => scope === family || scope.startsWith(`${family}:`));
  }
}

export const ScopesContext = createContext(new Scopes([]));

export function useScopes(): Scopes {
  return useContext(ScopesContext);
}

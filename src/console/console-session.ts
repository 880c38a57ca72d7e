/** A console session as stored (JSON). Never sent to the browser: the browser holds only a random id for it. */
export interface ConsoleSessionRecord {
  v: 1;
  via: 'oidc' | 'apiKey';
  /** The person (the ID token's `sub`), or `apikey:{id}` for an API-key session. */
  subject: string;
  name?: string;
  /** The console's OpenID client id, or the API key's id. */
  clientId?: string;
  scopes: string[];
  createdAt: number;
  lastSeenAt: number;
  /** Only for `oidc` sessions: the provider's tokens, used server side only. */
  tokens?: {
    access: string;
    /** When the access token expires (ms): it is refreshed shortly before. */
    accessExpiresAt: number;
    refresh?: string;
  };
}

/** What the console's UI may know of its session: who, what it may do, until when. No token, no id. */
export interface ConsoleSessionView {
  signedIn: true;
  subject: string;
  name?: string;
  via: 'oidc' | 'apiKey';
  scopes: string[];
  idleMinutes: number;
  expiresAt: string;
}

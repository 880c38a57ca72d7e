/** A console session as stored (JSON). Never sent to the browser: the browser holds only a random id for it. */
export interface ConsoleSessionRecord {
  /** 2: the record names its caller (a CallerId); earlier records are not sessions any more (sign in again). */
  v: 2;
  via: 'oidc' | 'apiKey';
  /** The CallerId the session was opened with: the person's `jwt:{iss}:{sub}`, or `apikey:{id}`. */
  caller: string;
  name?: string;
  /** The console's OpenID client id, or the API key's id. */
  clientId?: string;
  scopes: string[];
  createdAt: number;
  lastSeenAt: number;
  /**
   * Only for `apiKey` sessions: the configured SHA-256 of the key it was opened with (as `auth.apiKeys` holds it, never
   * the key). Every use looks the key up again: removed, or replaced under the same id, the session ends.
   */
  apiKeySha256?: string;
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
  /** The CallerId, as the audit trail names this operator. */
  subject: string;
  name?: string;
  via: 'oidc' | 'apiKey';
  scopes: string[];
  idleMinutes: number;
  expiresAt: string;
}

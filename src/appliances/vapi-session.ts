import { GatewayError } from '../problems/gateway-error.js';

/** After a rejected login we wait at least this long before trying again, doubling up to the maximum. */
export const LOGIN_BACKOFF_MIN_MS = 60_000;
export const LOGIN_BACKOFF_MAX_MS = 15 * 60_000;

export interface VapiSessionOptions {
  /** Logs in; throws a GatewayError APPLIANCE_AUTH_FAILED when the appliance rejects the credentials. */
  login: () => Promise<string>;
  /** Builds the error callers get while logins are held back (seconds until the next attempt). */
  heldBack: (retryAfterSeconds: number, rejection?: GatewayError) => GatewayError;
  /** Told once per backoff period, when a rejected login starts it. */
  onBackoff?: (delayMs: number) => void;
  now?: () => number;
}

/**
 * One vAPI session per appliance, created lazily and shared by every request.
 * Single-flight: however many requests find no valid session at once, they all wait on one login.
 * vCenter caps concurrent sessions (docs/vapi-notes.md), so a login per request would eventually lock
 * every integration out, backups included.
 * A rejected login is not retried per request either: vCenter's SSO lockout policy (typically 5 failures in
 * 180 s lock a vsphere.local account for 5–15 minutes) would lock out a service account other tools may share.
 * Logins are held back for 60 s after a rejection, doubling to 15 min, and callers are told when to come back.
 */
export class VapiSession {
  private token: string | undefined;
  private pending: Promise<string> | undefined;
  private backoffMs = 0;
  private heldUntil = 0;
  private readonly now: () => number;

  constructor(private readonly options: VapiSessionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The current token, logging in first if there is none. */
  current(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    const wait = this.heldUntil - this.now();
    if (wait > 0) return Promise.reject(this.options.heldBack(Math.ceil(wait / 1000)));
    this.pending ??= this.options
      .login()
      .then(
        (token) => {
          this.token = token;
          this.backoffMs = 0;
          return token;
        },
        (error: unknown) => {
          if (!(error instanceof GatewayError) || error.code !== 'APPLIANCE_AUTH_FAILED') throw error;
          this.backoffMs = Math.min(Math.max(this.backoffMs * 2, LOGIN_BACKOFF_MIN_MS), LOGIN_BACKOFF_MAX_MS);
          this.heldUntil = this.now() + this.backoffMs;
          this.options.onBackoff?.(this.backoffMs);
          throw this.options.heldBack(this.backoffMs / 1000, error);
        },
      )
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /**
   * Forget `token` after the appliance refused it. Only the token that was refused is dropped, so
   * fifty requests refused with the same expired token cause one login, not fifty.
   */
  invalidate(token: string): void {
    if (this.token === token) this.token = undefined;
  }

  /** Hands the token over for logout and forgets it. */
  take(): string | undefined {
    const token = this.token;
    this.token = undefined;
    return token;
  }
}

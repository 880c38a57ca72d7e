/**
 * One vAPI session per appliance, created lazily and shared by every request.
 * Single-flight: however many requests find no valid session at once, they all wait on one login.
 * vCenter caps concurrent sessions (docs/vapi-notes.md), so a login per request would eventually lock
 * every integration out, backups included.
 */
export class VapiSession {
  private token: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly login: () => Promise<string>) {}

  /** The current token, logging in first if there is none. */
  current(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.pending ??= this.login()
      .then((token) => {
        this.token = token;
        return token;
      })
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

  get active(): boolean {
    return this.token !== undefined;
  }
}

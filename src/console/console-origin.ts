import type { SessionRequest } from '../auth/session-lookup.js';
import type { ConsoleConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * Exactly these names: a prefix rule (`127.`) would take `127.evil.example`, any name a DNS zone can hold, for the
 * developer's own machine and drop `Secure` and `__Host-` there.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where browsers reach the console, and what follows for its cookies. `console.publicUrl` when set (behind a proxy
 * the request's own Host and scheme may not be what the browser sees; with OpenID sign-in it is required, so no
 * redirect URI comes from a Host header); otherwise the request's own origin.
 */
export class ConsoleOrigin {
  private readonly fixed: string | undefined;

  constructor(config: ConsoleConfig) {
    this.fixed = config.publicUrl === undefined ? undefined : new URL(config.publicUrl).origin;
  }

  of(request: SessionRequest): string {
    if (this.fixed !== undefined) return this.fixed;
    const host = typeof request.headers.host === 'string' ? request.headers.host : 'localhost';
    const text = `${request.protocol === 'https' ? 'https' : 'http'}://${host}`;
    // Node lets any Host header through (`a b`, `[::1`): one that names no host is the caller's mistake, a 400, not
    // a TypeError from the cookie rules below. The origin as browsers write it (default port dropped, lower case).
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url === undefined || url.origin === 'null') {
      throw new GatewayError('VALIDATION_FAILED', 'The Host header of this request does not name a host.', {
        errors: [{ field: 'Host', message: 'must be a host name or address, with an optional port' }],
      });
    }
    return url.origin;
  }

  /**
   * Cookies are `Secure` (and `__Host-` prefixed, so no sibling host can plant or read them) everywhere but on a
   * loopback address, where browsers allow plain http for development and demos.
   */
  secure(request: SessionRequest): boolean {
    return !isLoopbackHttp(this.of(request));
  }

  /** A Secure cookie over plain http is dropped by the browser: the console refuses to start a session there. */
  usable(request: SessionRequest): boolean {
    const origin = this.of(request);
    return origin.startsWith('https://') || isLoopbackHttp(origin);
  }
}

function isLoopbackHttp(origin: string): boolean {
  const url = new URL(origin);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

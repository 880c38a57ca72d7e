import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { GatewayError } from '../problems/gateway-error.js';
import { presentedCredential } from './presented-credential.js';
import type { Principal } from './principal.js';
import { RequestStrategy } from './request-strategy.js';
import { CONSOLE_REQUEST_HEADER, SESSION_LOOKUP, type SessionLookup, type SessionRequest } from './session-lookup.js';

export const SESSION_STRATEGY = 'console-session';

/** Methods a browser sends without an `Origin` header to its own origin; every other one must carry it. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The operator console's session cookie as a credential, tried after the bearer token and the API key. A cookie is
 * sent by the browser on its own, so a session is accepted only for requests that show they come from the console
 * itself (a CSRF defence on top of the cookie's SameSite=Strict): the custom `X-Console-Request` header, which no
 * cross-site form can send and no cross-site script can send without a CORS preflight, and an `Origin`, when
 * present (always on unsafe methods), equal to the console's. A request that presents a bearer token or an API key is
 * not the console's (it sends neither): it is left to those strategies, so that a wrong one is a counted 401 whatever
 * cookie comes with it, never a 403 that would let guesses go on uncounted and tell a right one from a wrong one.
 */
@Injectable()
export class SessionStrategy extends PassportStrategy(RequestStrategy<SessionRequest>, SESSION_STRATEGY) {
  constructor(@Inject(SESSION_LOOKUP) private readonly sessions: SessionLookup) {
    super();
  }

  async validate(request: SessionRequest): Promise<Principal | false> {
    if (presentedCredential(request.headers) || !this.sessions.presented(request)) return false;
    // Before the store is touched: a forged request neither reads nor prolongs the session.
    assertFromConsole(request, this.sessions.consoleOrigin(request));
    return (await this.sessions.principal(request)) ?? false;
  }
}

/** The CSRF defence, for every request a console session authenticates (the console's own routes use it too). */
export function assertFromConsole(request: SessionRequest, consoleOrigin: string): void {
  const origin = request.headers.origin;
  if (request.headers[CONSOLE_REQUEST_HEADER] === undefined) {
    throw new GatewayError(
      'FORBIDDEN',
      'A console session is accepted only from the console: this request lacks its X-Console-Request header.',
    );
  }
  if (origin === undefined ? !SAFE_METHODS.has(request.method.toUpperCase()) : origin !== consoleOrigin) {
    throw new GatewayError(
      'FORBIDDEN',
      `A console session is accepted only from the console's own origin (${consoleOrigin}); this request came from ${
        origin === undefined ? 'an unstated origin' : 'another origin'
      }.`,
    );
  }
}

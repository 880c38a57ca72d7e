import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from './principal.js';

/**
 * How auth/ reaches the operator console's sessions without depending on the console: the console module provides
 * this token (a global provider), the session strategy injects it. auth/ stays a leaf; without the console (or with
 * `console.enabled: false`) nothing provides it and no session strategy is registered.
 */
export const SESSION_LOOKUP = Symbol.for('backup-gateway:session-lookup');

/** What the lookup needs of a request: its headers (the cookie) and, for the console's own origin, its protocol. */
export interface SessionRequest {
  headers: IncomingHttpHeaders;
  method: string;
  protocol?: string;
}

export interface SessionLookup {
  /** Whether the request carries a console session cookie at all (cheap: no store access). */
  presented(request: SessionRequest): boolean;
  /**
   * The principal of the request's live console session (authMethod `session`), or undefined when the cookie names
   * none (unknown, ended, idle or past its absolute lifetime, or its tokens could no longer be refreshed). May throw a
   * GatewayError when the session store cannot answer.
   */
  principal(request: SessionRequest): Promise<Principal | undefined>;
  /** The origin the console is served from (`console.publicUrl`, or the request's own): the only one it accepts. */
  consoleOrigin(request: SessionRequest): string;
}

/** The header the console sends with every API call; a cross-site form cannot send it, a cross-site fetch must ask. */
export const CONSOLE_REQUEST_HEADER = 'x-console-request';

/**
 * Its value on the console's background reads (the Fleet page's timed refresh): such a request may use the session
 * but is no sign that anyone is there, so it never extends the session's idle time.
 */
export const CONSOLE_BACKGROUND_REQUEST = 'background';

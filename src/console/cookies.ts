import { createHash } from 'node:crypto';
import type { SessionRequest } from '../auth/session-lookup.js';

/** The two cookies of the console, by whether they may be Secure (see ConsoleOrigin). */
export const SESSION_COOKIE = { secure: '__Host-bg-session', plain: 'bg-session' } as const;
export const LOGIN_COOKIE = { secure: '__Host-bg-login', plain: 'bg-login' } as const;

export interface CookieOptions {
  secure: boolean;
  /** `Strict` for the session; `Lax` for the login transaction, which must survive the provider's redirect back. */
  sameSite: 'Strict' | 'Lax';
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
}

/** The value of one cookie of the request, or undefined. Only names we set are looked for, so no general parser. */
export function readCookie(request: SessionRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      // Our values are base64url; anything else is not ours.
      return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** Path=/ always: the session authenticates API calls at every path, and `__Host-` requires it. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${options.sameSite}`];
  if (options.secure) parts.push('Secure');
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`);
  return parts.join('; ');
}

export function cookieName(names: { secure: string; plain: string }, secure: boolean): string {
  return secure ? names.secure : names.plain;
}

/**
 * The login cookie of one sign-in, named after a digest of its OAuth `state`, which the provider sends back to the
 * callback: two tabs signing in at once each keep their own transaction, where one name for all had the second
 * sign-in replace the first's cookie (the first tab's callback then failed, and the second's found nothing).
 */
export function loginCookieName(secure: boolean, state: string): string {
  return `${cookieName(LOGIN_COOKIE, secure)}-${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
}

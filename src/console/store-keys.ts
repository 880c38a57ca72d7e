import { createHash, randomBytes } from 'node:crypto';

/** A random 256-bit id for the browser to hold (a session, a login transaction). */
export function randomId(): string {
  return randomBytes(32).toString('base64url');
}

/** Store keys are digests of the ids: the store never holds what the browser presents. */
export function sessionKey(id: string): string {
  return `session:${digest(id)}`;
}

/** A login transaction's key, in its own store (login-transactions.ts). */
export function loginKey(id: string): string {
  return `tx:${digest(id)}`;
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * How auth/ reaches the limit on failed authentications without depending on what records them (limits/ provides it,
 * globally, as the console provides SESSION_LOOKUP): a credential guessed at thousands of tries a second is a flood
 * from one address, refused with 429 and on record, never an unlimited oracle.
 */
import type { CallOrigin } from '../context/call-origin.js';

export const FAILED_AUTHENTICATIONS = Symbol.for('backup-gateway:failed-authentications');

/** The credential a failed attempt presented, as the audit trail names auth methods. */
export type PresentedCredential = 'jwt' | 'apiKey';

export interface FailedAuthentications {
  /** Seconds until this address may try again, or 0 when it may try now. Checked before any credential is. */
  retryAfter(ip: string): number;
  /** A credential from this request's address was refused. */
  failed(origin: CallOrigin, credential: PresentedCredential): void;
}

import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether an Authorization header carries `Bearer {expected}`. Both sides are hashed first, so the comparison takes
 * the same time whatever was sent and however long it is: timing tells nothing about the token.
 */
export function presentsBearerToken(authorization: string | undefined, expected: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  // Compared even when the header is no bearer token, so that a malformed header costs the same.
  const equal = timingSafeEqual(digest(match?.[1] ?? ''), digest(expected));
  return match !== null && equal;
}

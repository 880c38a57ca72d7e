import { GatewayError } from '../problems/gateway-error.js';

/** Opaque to callers; versioned so that its form can change without breaking a cursor already handed out. */
const CURSOR_PREFIX = 'v1:';

export function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

/** The seq a cursor of ours points before; 400 VALIDATION_FAILED for anything else. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new GatewayError('VALIDATION_FAILED', 'cursor is not one this API issued', {
      errors: [{ field: 'cursor', message: 'cursor is not one this API issued' }],
    });
  }
  return seq;
}

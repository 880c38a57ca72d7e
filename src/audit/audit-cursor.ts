import { GatewayError } from '../problems/gateway-error.js';
import type { AuditPosition } from './store/audit-store.js';

/**
 * Opaque to callers; versioned so that its form can change without breaking a cursor already handed out. `v2:` holds
 * the position (seq and time) of the page's last event; `v1:`, handed out before pages were ordered by time, only its
 * seq, and is still read (the store looks the time up).
 */
const CURSOR_V2 = 'v2:';
const CURSOR_V1 = 'v1:';
/** The times the gateway writes (Date#toISOString): anything else was not one of our cursors. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(position: Required<AuditPosition>): string {
  return Buffer.from(`${CURSOR_V2}${position.seq}:${position.time}`).toString('base64url');
}

/** The position a cursor of ours points before; 400 VALIDATION_FAILED for anything else. */
export function decodeCursor(cursor: string): AuditPosition {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const position = text.startsWith(CURSOR_V2)
    ? positionOf(text.slice(CURSOR_V2.length))
    : text.startsWith(CURSOR_V1)
      ? { seq: Number(text.slice(CURSOR_V1.length)) }
      : undefined;
  if (!position || !Number.isSafeInteger(position.seq) || position.seq < 1) {
    throw new GatewayError('VALIDATION_FAILED', 'cursor is not one this API issued', {
      errors: [{ field: 'cursor', message: 'cursor is not one this API issued' }],
    });
  }
  return position;
}

/** `{seq}:{time}`; without a colon the "time" is the whole text, which has none, so it is no time either. */
function positionOf(text: string): AuditPosition | undefined {
  const colon = text.indexOf(':');
  const time = text.slice(colon + 1);
  if (!ISO_TIME.test(time)) return undefined;
  return { seq: Number(text.slice(0, colon)), time };
}

import type { OutboxCursor } from '../audit/outbox.js';
import { GatewayError } from '../problems/gateway-error.js';

/** Opaque to callers; versioned so that its form can change without breaking a cursor already handed out. */
const PREFIX = 'v1:';

export function encodeDeliveryCursor(cursor: OutboxCursor): string {
  return Buffer.from(`${PREFIX}${cursor.createdAt} ${cursor.id}`).toString('base64url');
}

/** The position a cursor of ours points before; 400 VALIDATION_FAILED for anything else. */
export function decodeDeliveryCursor(text: string): OutboxCursor {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const [createdAt, id] = decoded.startsWith(PREFIX) ? decoded.slice(PREFIX.length).split(' ') : [];
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !id.startsWith('msg_')) {
    throw new GatewayError('VALIDATION_FAILED', 'cursor is not one this API issued', {
      errors: [{ field: 'cursor', message: 'cursor is not one this API issued' }],
    });
  }
  return { createdAt, id };
}

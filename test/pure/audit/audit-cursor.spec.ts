import { decodeCursor, encodeCursor } from '../../../src/audit/audit-cursor.js';
import { GatewayError } from '../../../src/problems/gateway-error.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('the audit events cursor', () => {
  it('carries the position of the page’s last event: its seq and its time', () => {
    const position = { seq: 4711, time: '2026-03-10T08:03:00.000Z' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(Buffer.from(encodeCursor(position), 'base64url').toString()).toBe('v2:4711:2026-03-10T08:03:00.000Z');
  });

  it('still reads the first form, handed out before pages were ordered by time: the seq alone', () => {
    expect(decodeCursor(b64('v1:42'))).toEqual({ seq: 42 });
  });

  it('reads the first entry of the chain (seq 1) in either form, and a one-digit seq', () => {
    expect(decodeCursor(b64('v1:1'))).toEqual({ seq: 1 });
    expect(decodeCursor(b64('v2:1:2026-03-10T08:03:00.000Z'))).toEqual({ seq: 1, time: '2026-03-10T08:03:00.000Z' });
    expect(decodeCursor(encodeCursor({ seq: 7, time: '2026-03-10T08:03:00.000Z' }))).toEqual({
      seq: 7,
      time: '2026-03-10T08:03:00.000Z',
    });
  });

  it.each([
    ['no form', b64('42')],
    ['a seq below 1', b64('v1:0')],
    ['a negative seq', b64('v2:-3:2026-03-10T08:03:00.000Z')],
    ['no time', b64('v2:42')],
    ['no seq', b64('v2:2026-03-10T08:03:00.000Z')],
    ['text before the time', b64('v2:42:x2026-03-10T08:03:00.000Z')],
    ['an empty seq', b64('v2::2026-03-10T08:03:00.000Z')],
    ['a time not in the form the gateway writes', b64('v2:42:2026-03-10T08:03:00Z')],
    ['SQL where the time goes', b64("v2:42:2026-03-10T08:03:00.000Z' OR 1=1")],
    ['a seq past 2^53', b64('v2:9007199254740993:2026-03-10T08:03:00.000Z')],
    ['not base64url text', 'not!a!cursor'],
  ])('refuses %s with 400 VALIDATION_FAILED', (_, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({
      code: 'VALIDATION_FAILED',
      detail: 'cursor is not one this API issued',
      details: { errors: [{ field: 'cursor', message: 'cursor is not one this API issued' }] },
    });
  });
});

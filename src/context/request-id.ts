import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Fastify's genReqId: keep a caller's sane `X-Request-Id` so one id follows the call through their
 * systems, ours and the appliance's logs; otherwise mint a UUID. Anything else is not trusted into logs.
 */
export function requestIdFor(request: IncomingMessage): string {
  const inbound = request.headers['x-request-id'];
  return typeof inbound === 'string' && SANE_REQUEST_ID.test(inbound) ? inbound : randomUUID();
}

export function newRequestId(): string {
  return randomUUID();
}

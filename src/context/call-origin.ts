import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { boundedText, USER_AGENT_MAX } from '../common/bounded-text.js';

/**
 * Where a piece of work comes from: the request it serves (its id, which the logs, the audit trail and the appliance
 * receive) and the caller's origin (its address, behind trustedProxies the one they forwarded, and its user agent).
 *
 * Passed as an argument from the HTTP edge to whatever records or forwards it. Carrying it in async context instead
 * (AsyncLocalStorage, as @fastify/request-context did) turns on Node 20's promise hooks, which every promise of every
 * request then pays: 52–133 µs of a run request's 520–630 µs of CPU here (bench/README.md, "The request's origin as an
 * argument").
 */
export interface CallOrigin {
  readonly requestId: string;
  readonly ip: string;
  /** Caller-controlled text, bounded here once: it rides into audit entries and log lines. */
  readonly userAgent: string | undefined;
}

/** The origin of an HTTP request: Fastify's request id (request-id.ts) and address, the user agent bounded. */
export function originOf(request: FastifyRequest): CallOrigin {
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip,
    userAgent: typeof userAgent === 'string' ? boundedText(userAgent, USER_AGENT_MAX) : undefined,
  };
}

/** A handler's parameter: the origin of the request it answers. */
export const Origin = createParamDecorator(
  (_data: unknown, context: ExecutionContext): CallOrigin => originOf(context.switchToHttp().getRequest()),
);

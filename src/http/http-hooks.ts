import { fastifyRequestContext } from '@fastify/request-context';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { boundedText, LOGGED_PATH_MAX, USER_AGENT_MAX } from '../logging/bounded.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';

/** What every request goes through at the HTTP edge, before Nest routes it. */
export async function installHttpHooks(
  fastify: FastifyInstance,
  logger: Logger,
  metrics: GatewayMetrics,
): Promise<void> {
  await fastify.register(fastifyRequestContext, {
    defaultStoreValues: (request) => {
      const userAgent = request.headers['user-agent'];
      return {
        requestId: request.id,
        ip: request.ip,
        // It rides along with the request into audit entries and log lines: bounded once, here.
        userAgent: typeof userAgent === 'string' ? boundedText(userAgent, USER_AGENT_MAX) : undefined,
      };
    },
  });

  // Path parameters with malformed percent-encoding are refused by the router; the query string gets the same rule,
  // instead of its parser keeping the malformed text as if it were a value.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const query = request.url.indexOf('?');
    if (query !== -1 && !isWellEncoded(request.url.slice(query + 1))) {
      done(new GatewayError('VALIDATION_FAILED', 'The query string is not valid (malformed percent-encoding?).'));
      return;
    }
    done();
  });

  fastify.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    // Route templates only: a path a caller made up is `unmatched`, never a series of its own.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.httpRequests.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    // The line's object is built only when it will be written (benchmarks and busy sites run at `warn`).
    if (!logger.isLevelEnabled('info')) return done();
    const path = request.url.split('?')[0];
    // Anyone can send a 15 KB path to a 404: unbounded, a flood of them fills the log disk faster than it fills
    // anything else. The request id is already bounded (request-id.ts).
    logger.info(
      {
        requestId: request.id,
        method: request.method,
        path: boundedText(path, LOGGED_PATH_MAX),
        ...(path.length > LOGGED_PATH_MAX ? { pathLength: path.length } : {}),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });
}

function isWellEncoded(query: string): boolean {
  if (!query.includes('%')) return true;
  try {
    decodeURIComponent(query.replaceAll('+', ' '));
    return true;
  } catch {
    return false;
  }
}

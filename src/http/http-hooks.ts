import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { boundedText, LOGGED_PATH_MAX } from '../common/bounded-text.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import { sendProblem } from '../problems/problem.filter.js';

/** What every request goes through at the HTTP edge, before Nest routes it. */
export function installHttpHooks(fastify: FastifyInstance, logger: Logger, metrics: GatewayMetrics): void {
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

  // A path the gateway routes, asked with a method it does not route there, is a 405 naming the methods it does
  // (RFC 9110, 15.5.6), not the 404 of a path that does not exist. Only requests no route matched pay for the lookup.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    const allowed = allowedMethods(fastify, request.url.split('?')[0]);
    if (allowed.length === 0) return done();
    reply.header('allow', allowed.join(', '));
    sendProblem(
      request,
      reply,
      new GatewayError('METHOD_NOT_ALLOWED', `This path is served with ${allowed.join(', ')} only (see Allow).`),
    );
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

/**
 * The methods some route serves `path` with. A route matching every path (CORS' preflight route, `OPTIONS *`) says
 * nothing about this one: were it counted, every unknown path would be a 405 instead of a 404.
 */
function allowedMethods(fastify: FastifyInstance, path: string): string[] {
  return fastify.supportedMethods.filter((method) => {
    const route = fastify.findRoute({ method, url: path });
    if (route === null) return false;
    const wildcard = (route.params as Record<string, string | undefined>)['*'];
    return wildcard === undefined || `/${wildcard.replace(/^\//, '')}` !== path;
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

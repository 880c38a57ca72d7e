import type { Socket } from 'node:net';
import { fastifyRequestContext } from '@fastify/request-context';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LimitsConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

const IN_FLIGHT = Symbol('requests in flight on this connection');
type CountedSocket = Socket & { [IN_FLIGHT]?: number };

/** What every request goes through at the HTTP edge, before Nest routes it. */
export async function installHttpHooks(fastify: FastifyInstance, limits: LimitsConfig, logger: Logger): Promise<void> {
  await fastify.register(fastifyRequestContext, {
    defaultStoreValues: (request) => {
      const userAgent = request.headers['user-agent'];
      return {
        requestId: request.id,
        ip: request.ip,
        userAgent: typeof userAgent === 'string' ? userAgent : undefined,
      };
    },
  });

  // HTTP pipelining lets one socket queue thousands of requests, each holding memory until answered. Past the
  // limit a connection's requests are refused at once, and the connection is closed.
  fastify.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket as CountedSocket;
    const inFlight = (socket[IN_FLIGHT] ?? 0) + 1;
    socket[IN_FLIGHT] = inFlight;
    reply.raw.once('close', () => {
      socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 1) - 1;
    });
    if (inFlight > limits.maxInFlightPerConnection) {
      reply.header('connection', 'close');
      done(
        new GatewayError(
          'OVERLOADED',
          `More than ${limits.maxInFlightPerConnection} requests are under way on this connection; open another, or wait for the answers.`,
          { retryAfter: 1 },
        ),
      );
      return;
    }
    done();
  });

  fastify.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  fastify.addHook('onResponse', (request, reply, done) => {
    logger.info(
      {
        requestId: request.id,
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    );
    done();
  });
}

import { fastifyRequestContext } from '@fastify/request-context';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/** What every request goes through at the HTTP edge, before Nest routes it. */
export async function installHttpHooks(fastify: FastifyInstance, logger: Logger): Promise<void> {
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

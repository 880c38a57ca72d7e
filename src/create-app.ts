import { ValidationError, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import { requestIdFor } from './common/request-id.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { PinoNestLogger } from './logging/logger.js';
import { mountOpenApi } from './openapi.js';
import { FieldError, GatewayError } from './problems/gateway-error.js';

export const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the gateway exactly as production runs it (main.ts and every e2e test use this), without listening.
 */
export async function createApp(config: GatewayConfig, logger: Logger): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Long ids must reach our validation (400 naming the field), not Fastify's 414.
    routerOptions: { maxParamLength: 512 },
    genReqId: requestIdFor,
    requestIdHeader: false,
    logger: false,
    return503OnClosing: true,
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
    abortOnError: false,
  });
  configureHttp(app.getHttpAdapter().getInstance(), logger);
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationFailed,
    }),
  );
  mountOpenApi(app);
  await app.init();
  return app;
}

function configureHttp(fastify: FastifyInstance, logger: Logger): void {
  // Only JSON objects are request bodies here; an empty body is no body (curl -X POST -H 'content-type: application/json').
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, (error: Error | null, value?: unknown) => {
      if (error)
        return done(new GatewayError('VALIDATION_FAILED', `The body is not valid JSON: ${error.message}`), undefined);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return done(
          new GatewayError('VALIDATION_FAILED', 'The body must be a JSON object.', {
            errors: [{ field: '(body)', message: 'must be a JSON object' }],
          }),
          undefined,
        );
      }
      done(null, value);
    });
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

function validationFailed(errors: ValidationError[]): GatewayError {
  const fields = errors.flatMap((error) => fieldErrors(error, ''));
  const summary = fields.map((f) => f.message).join('; ');
  return new GatewayError('VALIDATION_FAILED', summary || 'The request is invalid.', { errors: fields });
}

function fieldErrors(error: ValidationError, parent: string): FieldError[] {
  const field = parent ? `${parent}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
  return [...own, ...(error.children ?? []).flatMap((child) => fieldErrors(child, field))];
}

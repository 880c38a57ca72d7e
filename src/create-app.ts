import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { AppModule } from './app.module.js';
import type { GatewayConfig } from './config/gateway-config.js';
import { installBrowserSecurity } from './http/browser-security.js';
import { installHttpHooks } from './http/http-hooks.js';
import { registerJsonBody } from './http/json-body.js';
import { installLoadShedding } from './http/load-shedding.js';
import { serverOptions } from './http/server-options.js';
import { PinoNestLogger } from './logging/logger.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { mountOpenApi } from './openapi.js';

/**
 * Builds the gateway exactly as production runs it (main.ts and every e2e test use this), without listening.
 */
export async function createApp(config: GatewayConfig, logger: Logger): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    await AppModule.forRoot(config, logger),
    new FastifyAdapter(serverOptions(config)),
    { logger: new PinoNestLogger(logger), bodyParser: false, abortOnError: false },
  );
  const fastify = app.getHttpAdapter().getInstance();
  await installBrowserSecurity(fastify, config.cors);
  registerJsonBody(fastify);
  installHttpHooks(fastify, logger, app.get(GatewayMetrics));
  await installLoadShedding(fastify, config.limits);
  mountOpenApi(app);
  await app.init();
  return app;
}

import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from '../problems/gateway-error.js';
import { sendProblem } from '../problems/problem.filter.js';
import { type ConsoleAsset, consoleAssetsDir, loadConsoleAssets, pickEncoding } from './console-assets.js';
import { CONSOLE_HEADERS } from './console-headers.js';

/**
 * The console's static files at /console/ (the page) and /console/assets/ (hashed scripts and styles), straight on
 * Fastify: they need no principal, no pipes and no Nest routing, and are served from memory, precompressed. The page
 * carries no state; everything the user sees comes from the API with the session cookie.
 */
@Injectable()
export class ConsoleAssetRoutes implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const dir = consoleAssetsDir();
    const assets = loadConsoleAssets(dir);
    if (!assets.has('index.html')) {
      this.logger.warn(
        { console: 'assets missing', dir },
        'console assets not built (npm run build): /console answers 503',
      );
    }
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    const page = (request: FastifyRequest, reply: FastifyReply) => serve(assets, 'index.html', request, reply);
    fastify.get('/console', page);
    fastify.get('/console/', page);
    fastify.get('/console/assets/*', (request, reply) => {
      const name = `assets/${(request.params as { '*': string })['*']}`;
      serve(assets, name, request, reply);
    });
  }
}

function serve(assets: Map<string, ConsoleAsset>, name: string, request: FastifyRequest, reply: FastifyReply): void {
  const asset = assets.get(name);
  if (!asset) {
    const missing = assets.size === 0;
    sendProblem(
      request,
      reply,
      missing
        ? new GatewayError('SERVICE_UNAVAILABLE', 'The console is not built on this gateway (npm run build).')
        : new GatewayError('NOT_FOUND', 'No such console file.'),
    );
    return;
  }
  reply.headers(CONSOLE_HEADERS);
  reply.header('etag', asset.etag);
  reply.header('vary', 'accept-encoding');
  reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('content-type', asset.type);
  if (request.headers['if-none-match'] === asset.etag) {
    reply.code(304).send();
    return;
  }
  const encoding = pickEncoding(request.headers['accept-encoding']);
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  reply.send(encoding === 'br' ? asset.br : encoding === 'gzip' ? asset.gzip : asset.identity);
}

import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { GatewayMetrics } from './gateway-metrics.js';

/**
 * GET /metrics in Prometheus' text format, on the API's port when `metrics.port` is not set (then on its own server,
 * see metrics-server.ts, and 404 here). Public like the health probes: scrapers carry no token; keep the port off the
 * public network, or set metrics.port. Not part of the API's contract (no OpenAPI entry).
 */
@ApiExcludeController()
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly config: GatewayConfig,
  ) {}

  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    if (!this.config.metrics.enabled || this.config.metrics.port !== undefined) {
      throw new GatewayError('NOT_FOUND', 'No route matches this method and path.');
    }
    reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';
import { presentsBearerToken } from './bearer-token.js';
import { GatewayMetrics } from './gateway-metrics.js';

/**
 * GET /metrics in Prometheus' text format on the API's port, only with `metrics.bearerToken` set and presented:
 * series are labelled with every configured appliance id, which is not for anyone who can reach the API. Without a
 * token (or with `metrics.port`, where they are served instead, see metrics-server.ts) the controller is not
 * registered (MetricsModule.forConfig): 404, as for any unknown path; a wrong or missing token is a 401. @Public because the token is not a caller's credential:
 * it names no caller and grants no scope. Not part of the API's contract (no OpenAPI entry).
 */
@ApiExcludeController()
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly config: GatewayConfig,
  ) {}

  /** Registered only when served here (MetricsModule.forConfig): the token is then configured. */
  @Get()
  async scrape(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!presentsBearerToken(request.headers.authorization, this.config.metrics.bearerToken ?? '')) {
      throw new GatewayError('UNAUTHENTICATED', 'Send the metrics token: Authorization: Bearer <metrics.bearerToken>.');
    }
    reply.header('content-type', this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}

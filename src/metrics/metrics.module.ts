import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsController } from './metrics.controller.js';

/**
 * Prometheus metrics for every module (GatewayMetrics); GET /metrics on the main port with `metrics.bearerToken`,
 * unless `metrics.port` serves it (and the readiness details) on a server of its own.
 */
@Global()
@Module({ controllers: [MetricsController], providers: [GatewayMetrics], exports: [GatewayMetrics] })
export class MetricsModule {}

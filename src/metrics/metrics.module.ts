import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsController } from './metrics.controller.js';

/** Prometheus metrics for every module (GatewayMetrics), and GET /metrics on the main port unless metrics.port. */
@Global()
@Module({ controllers: [MetricsController], providers: [GatewayMetrics], exports: [GatewayMetrics] })
export class MetricsModule {}

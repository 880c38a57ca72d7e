import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { GatewayConfig } from '../config/gateway-config.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsController } from './metrics.controller.js';

/**
 * Prometheus metrics for every module (GatewayMetrics). GET /metrics exists on the main port only when it is served
 * there (`metrics.enabled`, no `metrics.port`, a `metrics.bearerToken`): otherwise the controller is left out, and the
 * path is a 404 like any unknown one, with nothing checked per request. `metrics.port` serves it (and the readiness
 * details) on a server of its own (metrics-server.ts).
 */
@Global()
@Module({})
export class MetricsModule {
  static forConfig(config: GatewayConfig): DynamicModule {
    const { enabled, port, bearerToken } = config.metrics;
    const onMainPort = enabled && port === undefined && bearerToken !== undefined;
    return {
      module: MetricsModule,
      controllers: onMainPort ? [MetricsController] : [],
      providers: [GatewayMetrics],
      exports: [GatewayMetrics],
    };
  }
}

import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import type { LimitsConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

/**
 * Sheds load (503 OVERLOADED + Retry-After) while the event loop lags or the heap is full, before memory grows
 * further: cheap refusals instead of every caller timing out. Health probes are never shed: an overloaded replica
 * is alive, and restarting it would only move its load elsewhere.
 */
export async function installLoadShedding(fastify: FastifyInstance, limits: LimitsConfig): Promise<void> {
  if (limits.maxEventLoopDelayMs === 0 && limits.maxHeapUsedMb === 0) return;
  await fastify.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: limits.maxHeapUsedMb * 1024 * 1024,
    exposeStatusRoute: false,
    pressureHandler: (request, _reply, type) => {
      if (request.url.startsWith('/health/')) return undefined;
      // A rejection reaches the one exception filter, like any other error.
      return Promise.reject(
        new GatewayError('OVERLOADED', `The gateway is overloaded (${type}); retry after the Retry-After delay.`, {
          retryAfter: 2,
        }),
      );
    },
  });
}

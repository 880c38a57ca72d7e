import { getHeapStatistics } from 'node:v8';
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
  const maxHeapUsedBytes = heapSheddingBytes(limits);
  if (limits.maxEventLoopDelayMs === 0 && maxHeapUsedBytes === 0) return;
  await fastify.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes,
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

/** The share of V8's heap limit in use above which load is shed, unless `limits.maxHeapUsedMb` says otherwise. */
export const HEAP_SHEDDING_SHARE = 0.7;

/**
 * Where shedding starts. By default well below the heap limit: near it the collector runs back to back (the old space
 * at --max-old-space-size=160 filled at ~158 MB with 2,700 event streams open, and the process died of it), and
 * in-use bytes counted with the young generation never reached the former fixed 192 MB first.
 */
export function heapSheddingBytes(limits: Pick<LimitsConfig, 'maxHeapUsedMb'>): number {
  if (limits.maxHeapUsedMb !== undefined) return limits.maxHeapUsedMb * 1024 * 1024;
  return Math.floor(getHeapStatistics().heap_size_limit * HEAP_SHEDDING_SHARE);
}

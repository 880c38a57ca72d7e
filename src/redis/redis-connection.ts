import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';

/**
 * The one Redis connection setting for what replicas share (rate limits, job polling, console sessions).
 * Without `redis.url` there is no client and each replica works alone. With it, Redis going away must degrade,
 * never take the gateway down: commands fail at once instead of queueing while disconnected (callers fall back to
 * their per-replica behaviour), the client reconnects in the background, and the change is logged once each way.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis | undefined;
  private up = false;

  constructor(config: GatewayConfig, @Inject(PINO_LOGGER) logger: Logger) {
    const redis = config.redis;
    if (!redis) return;
    this.client = new Redis(redis.url, {
      keyPrefix: redis.keyPrefix,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    });
    this.client.on('ready', () => {
      if (!this.up) logger.info({ redis: 'up' }, 'redis connected: rate limits and job polling are shared by replicas');
      this.up = true;
    });
    this.client.on('error', (error: Error) => {
      if (this.up) {
        logger.warn(
          { redis: 'down', err: { message: error.message } },
          'redis unavailable: rate limits and job polling fall back to this replica alone until it is back',
        );
      }
      this.up = false;
    });
    this.client.on('end', () => {
      this.up = false;
    });
  }

  /** Connected and ready: callers use Redis; otherwise their per-replica fallback. */
  get available(): boolean {
    return this.client !== undefined && this.up;
  }

  /** A second connection for subscriptions (a subscribed ioredis connection runs no other commands). */
  duplicate(): Redis | undefined {
    return this.client?.duplicate({ enableOfflineQueue: true });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client) await this.client.quit().catch(() => this.client?.disconnect());
  }
}

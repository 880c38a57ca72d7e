import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { type Command, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';

/**
 * How long any Redis command may take. Redis answers in well under a millisecond on a healthy network; a Redis that
 * accepts connections but does not answer (stopped, swapping, a stuck network) costs one request this much, once,
 * before every caller falls back as for a dead one. Not tens of milliseconds: the timeout is a timer, and when the
 * event loop is busy for a moment (a burst of logins, two hundred watchers) Node runs due timers before it reads the
 * answers already waiting on the socket, so a tighter bound marked a healthy Redis stalled under load (measured: a
 * 2,000-login flood on two replicas and 200 watchers on three turned into per-replica limits and polling at 50 ms).
 */
export const REDIS_COMMAND_TIMEOUT_MS = 250;
/** While Redis is stalled, how often a PING asks whether it answers again. */
const STALL_PROBE_MS = 1000;
const TIMED_OUT = 'Command timed out';

/**
 * The ioredis client every caller uses (rate limits, job polling, console sessions): the one place each command
 * passes through, so that a command that times out marks Redis as not answering for all of them.
 */
class BoundedRedis extends Redis {
  onTimeout: (() => void) | undefined;

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    const sent = super.sendCommand(command, stream);
    command.promise.then(undefined, (error: unknown) => {
      if ((error as Error | undefined)?.message === TIMED_OUT) this.onTimeout?.();
    });
    return sent;
  }
}

/**
 * The one Redis connection setting for what replicas share (rate limits, job polling, console sessions).
 * Without `redis.url` there is no client and each replica works alone. With it, Redis going away must degrade,
 * never take the gateway down: commands fail at once instead of queueing while disconnected (callers fall back to
 * their per-replica behaviour), the client reconnects in the background, and the change is logged once each way.
 * A Redis that stops answering without closing its connections is the same: every command is bounded
 * (REDIS_COMMAND_TIMEOUT_MS), the first one to time out marks it unavailable (logged once, and
 * `backup_gateway_redis_available` 0), and a PING each second brings it back once it answers.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: Redis | undefined;
  private up = false;
  private probe: NodeJS.Timeout | undefined;

  constructor(
    config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Optional() private readonly metrics?: GatewayMetrics,
  ) {
    const redis = config.redis;
    if (!redis) return;
    const options: RedisOptions = {
      keyPrefix: redis.keyPrefix,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    };
    const client = new BoundedRedis(redis.url, options);
    client.onTimeout = () => this.stalled();
    this.client = client;
    this.metrics?.redisAvailable.set(0);
    this.client.on('ready', () => {
      if (!this.up) logger.info({ redis: 'up' }, 'redis connected: rate limits and job polling are shared by replicas');
      this.setUp(true);
    });
    this.client.on('error', (error: Error) => {
      if (this.up) {
        logger.warn(
          { redis: 'down', err: { message: error.message } },
          'redis unavailable: rate limits and job polling fall back to this replica alone until it is back',
        );
      }
      this.setUp(false);
    });
    this.client.on('end', () => {
      this.setUp(false);
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
    this.stopProbe();
    if (this.client) await this.client.quit().catch(() => this.client?.disconnect());
  }

  /** A command timed out on an open connection: Redis is there but does not answer. */
  private stalled(): void {
    if (!this.up) return;
    this.setUp(false);
    this.logger.warn(
      { redis: 'stalled', timeoutMs: REDIS_COMMAND_TIMEOUT_MS },
      `redis does not answer within ${REDIS_COMMAND_TIMEOUT_MS} ms: rate limits and job polling fall back to this replica alone until it answers again`,
    );
    this.probe = setInterval(() => {
      this.client?.ping().then(
        () => {
          if (this.up || !this.probe) return;
          this.logger.info({ redis: 'up' }, 'redis answers again: rate limits and job polling are shared by replicas');
          this.setUp(true);
        },
        () => undefined,
      );
    }, STALL_PROBE_MS);
    this.probe.unref();
  }

  private setUp(up: boolean): void {
    this.up = up;
    if (up) this.stopProbe();
    this.metrics?.redisAvailable.set(up ? 1 : 0);
  }

  private stopProbe(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }
}

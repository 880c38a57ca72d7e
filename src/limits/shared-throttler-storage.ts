import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import { RedisConnection } from '../redis/redis-connection.js';
import { MemoryThrottlerStorage } from './memory-throttler-storage.js';

interface StorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** A fixed window per key: the first hit starts it; every hit counts; the reply is the count and the time left. */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return { hits, ttl }`;

/**
 * @nestjs/throttler's storage, shared by replicas through Redis when `redis.url` is set, so a caller's limit holds
 * however a load balancer spreads its requests; in memory otherwise. When Redis goes away limits fall back to each
 * replica's own memory (a caller may then get up to replicas × the limit) instead of failing requests: an outage of
 * the shared store must never become an outage of the gateway. One small Lua script instead of a storage package:
 * the maintained Redis storages for the throttler do not support NestJS 12 yet, and none falls back on its own. In
 * memory, MemoryThrottlerStorage: the throttler's own storage's answers at a cost that does not grow with the limit.
 */
@Injectable()
export class SharedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly local = new MemoryThrottlerStorage();
  private fellBack = false;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<StorageRecord> {
    const client = this.redis.client;
    if (client && this.redis.available) {
      try {
        const [hits, left] = (await client.eval(INCREMENT, 1, `rate:${key}`, ttl)) as [number, number];
        this.fellBack = false;
        const seconds = Math.max(1, Math.ceil(left / 1000));
        return { totalHits: hits, timeToExpire: seconds, isBlocked: hits > limit, timeToBlockExpire: seconds };
      } catch (error) {
        this.warnOnce(error);
      }
    } else if (client) {
      this.warnOnce(new Error('not connected'));
    }
    return this.local.increment(key, ttl, limit, blockDuration, name);
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }

  private warnOnce(error: unknown): void {
    if (this.fellBack) return;
    this.fellBack = true;
    this.logger.warn(
      { err: { message: (error as Error).message } },
      "rate limits fall back to this replica's memory while redis is unavailable",
    );
  }
}

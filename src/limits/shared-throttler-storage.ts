import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { SharedState } from '../redis/shared-state.js';
import { MemoryThrottlerStorage } from './memory-throttler-storage.js';

interface StorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * @nestjs/throttler's storage, shared by replicas (SharedState's fixed window per key, `rate:{key}` in Redis) when
 * `redis.url` is set, so a caller's limit holds however a load balancer spreads its requests; this replica's memory
 * otherwise, and while Redis is unavailable (a caller may then get up to replicas × the limit) instead of failing
 * requests: an outage of the shared store must never become an outage of the gateway. A counter of our own instead
 * of a storage package: the maintained Redis storages for the throttler do not support NestJS 12 yet, and none falls
 * back on its own. In memory, MemoryThrottlerStorage: the throttler's own storage's answers at a cost that does not
 * grow with the limit.
 */
@Injectable()
export class SharedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly local = new MemoryThrottlerStorage();

  constructor(private readonly state: SharedState) {}

  increment(key: string, ttl: number, limit: number, blockDuration: number, name: string): Promise<StorageRecord> {
    return this.state.orAlone(
      async (store) => {
        const { count, msLeft } = await store.countInWindow(`rate:${key}`, ttl);
        const seconds = Math.max(1, Math.ceil(msLeft / 1000));
        return { totalHits: count, timeToExpire: seconds, isBlocked: count > limit, timeToBlockExpire: seconds };
      },
      () => this.local.increment(key, ttl, limit, blockDuration, name),
    );
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }
}

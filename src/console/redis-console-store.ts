import type { Redis } from 'ioredis';
import type { ConsoleStore } from './console-store.js';
import { unlessRedisFails } from './redis-unavailable.js';

const PREFIX = 'console:';

/**
 * Sessions shared by every replica, in the gateway's Redis (its key prefix, then `console:`). Redis expires them
 * (PX), so no sweeper runs. When Redis does not answer, console requests fail with 503 instead of silently falling
 * back to one replica's memory: a session that exists on one replica only would sign people out at random.
 */
export class RedisConsoleStore implements ConsoleStore {
  readonly kind = 'redis';

  constructor(private readonly redis: Redis) {}

  get(key: string): Promise<string | undefined> {
    return this.call(async () => (await this.redis.get(PREFIX + key)) ?? undefined);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.call(async () => {
      if (ttlMs > 0) await this.redis.set(PREFIX + key, value, 'PX', Math.ceil(ttlMs));
      else await this.redis.del(PREFIX + key);
    });
  }

  take(key: string): Promise<string | undefined> {
    return this.call(async () => (await this.redis.getdel(PREFIX + key)) ?? undefined);
  }

  delete(key: string): Promise<void> {
    return this.call(async () => {
      await this.redis.del(PREFIX + key);
    });
  }

  lock(key: string, ttlMs: number): Promise<boolean> {
    return this.call(async () => (await this.redis.set(`${PREFIX}lock:${key}`, '1', 'PX', ttlMs, 'NX')) === 'OK');
  }

  unlock(key: string): Promise<void> {
    return this.call(async () => {
      await this.redis.del(`${PREFIX}lock:${key}`);
    });
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    return unlessRedisFails('Console sessions are kept in', operation);
  }
}

import type { SharedState } from '../redis/shared-state.js';
import type { SharedStore } from '../redis/shared-store.js';
import type { ConsoleStore } from './console-store.js';
import { unlessRedisFails } from './redis-unavailable.js';

const PREFIX = 'console:';

/**
 * Sessions shared by every replica, in the gateway's Redis (its key prefix, then `console:`). Redis expires them
 * (PX), so no sweeper runs. When Redis does not answer, console requests fail with 503 instead of silently falling
 * back to one replica's memory (SharedState.required, never orAlone): a session that exists on one replica only would
 * sign people out at random.
 */
export class RedisConsoleStore implements ConsoleStore {
  readonly kind = 'redis';

  constructor(private readonly state: SharedState) {}

  get(key: string): Promise<string | undefined> {
    return this.call((store) => store.get(PREFIX + key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.call((store) => (ttlMs > 0 ? store.set(PREFIX + key, value, ttlMs) : store.delete(PREFIX + key)));
  }

  update(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.call(async (store) => {
      if (ttlMs > 0) return store.setIfPresent(PREFIX + key, value, ttlMs);
      await store.delete(PREFIX + key);
      return false;
    });
  }

  take(key: string): Promise<string | undefined> {
    return this.call((store) => store.take(PREFIX + key));
  }

  delete(key: string): Promise<void> {
    return this.call((store) => store.delete(PREFIX + key));
  }

  lock(key: string, ttlMs: number): Promise<boolean> {
    return this.call((store) => store.setIfAbsent(`${PREFIX}lock:${key}`, '1', ttlMs));
  }

  unlock(key: string): Promise<void> {
    return this.call((store) => store.delete(`${PREFIX}lock:${key}`));
  }

  private call<T>(operation: (store: SharedStore) => Promise<T>): Promise<T> {
    return unlessRedisFails('Console sessions are kept in', () => this.state.required(operation));
  }
}

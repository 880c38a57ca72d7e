import { LRUCache } from 'lru-cache';
import type { ConsoleStore } from './console-store.js';

/**
 * Enough for every operator of a site; past it the least recently used session ends (it can log in again). Only a
 * sign-in adds an entry, never an anonymous request: login transactions are kept elsewhere.
 */
const MAX_ENTRIES = 10_000;

/** One replica's sessions, in memory: gone on restart, which a console user survives by logging in again. */
export class MemoryConsoleStore implements ConsoleStore {
  readonly kind = 'memory';
  private readonly entries: LRUCache<string, string>;
  private readonly locks: LRUCache<string, true>;

  constructor(now: () => number = Date.now) {
    // lru-cache expires entries on read against its own clock: ours, so tests can move time.
    const perf = { now };
    this.entries = new LRUCache({ max: MAX_ENTRIES, ttlAutopurge: false, perf });
    this.locks = new LRUCache({ max: MAX_ENTRIES, perf });
  }

  async get(key: string): Promise<string | undefined> {
    return this.entries.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs > 0) this.entries.set(key, value, { ttl: ttlMs });
    else this.entries.delete(key);
  }

  async update(key: string, value: string, ttlMs: number): Promise<boolean> {
    // has() honours the entry's expiry: an expired session is gone, as in Redis.
    if (!this.entries.has(key)) return false;
    await this.set(key, value, ttlMs);
    return ttlMs > 0;
  }

  async take(key: string): Promise<string | undefined> {
    const value = this.entries.get(key);
    this.entries.delete(key);
    return value;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async lock(key: string, ttlMs: number): Promise<boolean> {
    if (this.locks.has(key)) return false;
    this.locks.set(key, true, { ttl: ttlMs });
    return true;
  }

  async unlock(key: string): Promise<void> {
    this.locks.delete(key);
  }
}

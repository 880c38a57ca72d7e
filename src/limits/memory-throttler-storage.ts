import { AsyncResource } from 'node:async_hooks';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

interface StorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * The expiry times of one throttler's hits on one key, oldest first (hits are recorded in time order, so their expiry
 * times ascend): expired hits are dropped from the front by moving `head`, and the array is compacted once most of it
 * is dropped. Counting, dropping and recording are amortised O(1), whatever the number of hits in the window.
 */
class HitLog {
  private times: number[] = [];
  private head = 0;

  get count(): number {
    return this.times.length - this.head;
  }

  /** The earliest expiry (undefined when empty). */
  get first(): number | undefined {
    return this.count > 0 ? this.times[this.head] : undefined;
  }

  /** Whether a hit is still live at `now`. */
  liveAt(now: number): boolean {
    return this.count > 0 && this.times[this.times.length - 1] > now;
  }

  add(expiresAt: number): void {
    const last = this.times.length - 1;
    if (last < this.head || this.times[last] <= expiresAt) {
      this.times.push(expiresAt);
      return;
    }
    // The clock stepped back: keep the order (only the count and the earliest expiry matter).
    let low = this.head;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.times[middle] <= expiresAt) low = middle + 1;
      else high = middle;
    }
    this.times.splice(low, 0, expiresAt);
  }

  dropExpired(now: number): void {
    while (this.head < this.times.length && this.times[this.head] <= now) this.head++;
    if (this.head === this.times.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }
}

interface KeyRecord {
  expiresAt: number;
  blockExpiresAt: number;
  isBlocked: boolean;
  hits: Map<string, HitLog>;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Rate-limit counters in this process's memory: the answers of @nestjs/throttler's own ThrottlerStorageService
 * (the same sliding log of hits per key and throttler, the same blocking and the same idle sweep), in amortised O(1)
 * per request. Its storage filters the whole log of a key's hits in the window on every request (a new array each
 * time), so a caller allowed many requests per minute pays for every one it made in the last minute, on every
 * request; this one drops expired hits from the front of a log kept in time order.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly records = new Map<string, KeyRecord>();
  private sweep: NodeJS.Timeout | undefined;
  // Bound outside any request, so the timer keeps no request's async context alive.
  private readonly startSweep = AsyncResource.bind(() => {
    this.sweep = setInterval(() => this.evictIdle(), SWEEP_INTERVAL_MS);
    this.sweep.unref();
  });

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<StorageRecord> {
    if (!this.sweep) this.startSweep();
    let record = this.records.get(key);
    if (!record) {
      record = { expiresAt: Date.now() + ttl, blockExpiresAt: 0, isBlocked: false, hits: new Map() };
      this.records.set(key, record);
    }
    let hits = record.hits.get(throttlerName);
    if (!hits) {
      hits = new HitLog();
      record.hits.set(throttlerName, hits);
    }
    hits.dropExpired(Date.now());
    let timeToExpire = secondsUntil(record.expiresAt);
    if (timeToExpire <= 0) {
      record.expiresAt = Date.now() + ttl;
      timeToExpire = secondsUntil(record.expiresAt);
    }
    if (blockDuration <= 0) {
      const isBlocked = hits.count >= limit;
      if (!isBlocked) hits.add(Date.now() + ttl);
      const first = hits.first;
      return {
        totalHits: hits.count + (isBlocked ? 1 : 0),
        timeToExpire,
        isBlocked,
        timeToBlockExpire: isBlocked ? (first === undefined ? timeToExpire : secondsUntil(first)) : 0,
      };
    }
    if (!record.isBlocked) hits.add(Date.now() + ttl);
    if (hits.count > limit && !record.isBlocked) {
      record.isBlocked = true;
      record.blockExpiresAt = Date.now() + blockDuration;
    }
    const timeToBlockExpire = secondsUntil(record.blockExpiresAt);
    if (timeToBlockExpire <= 0 && record.isBlocked) {
      record.isBlocked = false;
      hits.clear();
      hits.add(Date.now() + ttl);
    }
    return { totalHits: hits.count, timeToExpire, isBlocked: record.isBlocked, timeToBlockExpire };
  }

  onApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = undefined;
    this.records.clear();
  }

  /** Forgets keys with nothing left to remember: not blocked, window over, no live hit. */
  private evictIdle(now = Date.now()): void {
    for (const [key, record] of this.records) {
      if (record.isBlocked && record.blockExpiresAt > now) continue;
      if (record.expiresAt > now) continue;
      if ([...record.hits.values()].some((hits) => hits.liveAt(now))) continue;
      this.records.delete(key);
    }
  }
}

function secondsUntil(time: number): number {
  return Math.ceil((time - Date.now()) / 1000);
}

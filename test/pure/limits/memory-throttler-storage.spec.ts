import { jest } from '@jest/globals';
import { ThrottlerStorageService } from '@nestjs/throttler';
import fc from 'fast-check';
import { MemoryThrottlerStorage } from '../../../src/limits/memory-throttler-storage.js';

const step = fc.record({
  // Mostly small steps (many hits in one window), some exactly a window or a block long (the boundaries), some past
  // a window, a few clock steps back.
  advanceMs: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 400 }) },
    { weight: 2, arbitrary: fc.constantFrom(500, 1_000, 60_000) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -3_000, max: -1 }) },
  ),
  key: fc.constantFrom('runs:alice', 'reads:alice', 'runs:bob'),
  throttler: fc.constantFrom('runs', 'reads'),
  ttl: fc.constantFrom(60_000, 60_000, 1_000),
  limit: fc.integer({ min: 1, max: 6 }),
  blockDuration: fc.constantFrom<'ttl' | number>('ttl', 0, 500),
});

describe('MemoryThrottlerStorage', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-11-29T12:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('answers every sequence of hits as @nestjs/throttler’s ThrottlerStorageService does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 120 }), async (steps) => {
        const theirs = new ThrottlerStorageService();
        const ours = new MemoryThrottlerStorage();
        try {
          for (const s of steps) {
            // Forward: timers run too (both idle sweeps); back: only the clock moves, as when NTP steps it.
            if (s.advanceMs >= 0) jest.advanceTimersByTime(s.advanceMs);
            else jest.setSystemTime(Date.now() + s.advanceMs);
            const blockDuration = s.blockDuration === 'ttl' ? s.ttl : s.blockDuration;
            const args = [s.key, s.ttl, s.limit, blockDuration, s.throttler] as const;
            expect(await ours.increment(...args)).toEqual(await theirs.increment(...args));
          }
        } finally {
          theirs.onApplicationShutdown();
          ours.onApplicationShutdown();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('answers as ThrottlerStorageService does over a long steady stream (expired hits dropped, the log compacted)', async () => {
    const theirs = new ThrottlerStorageService();
    const ours = new MemoryThrottlerStorage();
    try {
      for (let i = 0; i < 6_000; i++) {
        jest.advanceTimersByTime(i % 7 === 0 ? 2 : 1);
        const args = ['reads:dashboard', 1_000, 100_000, 1_000, 'reads'] as const;
        expect(await ours.increment(...args)).toEqual(await theirs.increment(...args));
      }
    } finally {
      theirs.onApplicationShutdown();
      ours.onApplicationShutdown();
    }
  });

  it('forgets idle keys at its sweep and starts afresh', async () => {
    const ours = new MemoryThrottlerStorage();
    try {
      await ours.increment('runs:alice', 60_000, 2, 60_000, 'runs');
      await ours.increment('runs:alice', 60_000, 2, 60_000, 'runs');
      expect((await ours.increment('runs:alice', 60_000, 2, 60_000, 'runs')).isBlocked).toBe(true);
      jest.advanceTimersByTime(120_000);
      expect(await ours.increment('runs:alice', 60_000, 2, 60_000, 'runs')).toMatchObject({
        totalHits: 1,
        isBlocked: false,
        timeToExpire: 60,
      });
    } finally {
      ours.onApplicationShutdown();
    }
  });

  it('keeps 200,000 hits of one caller in the window and counts them all (a limit far above any default)', async () => {
    jest.useRealTimers();
    const ours = new MemoryThrottlerStorage();
    try {
      // @nestjs/throttler's storage filters every hit in the window into a new array on every request, so this loop
      // is quadratic there (minutes of CPU, past the test's timeout); here each request drops only expired hits.
      // What it costs per request is measured by the benchmark (bench/scenarios/rate-limit.mjs), not timed here.
      for (let i = 0; i < 200_000; i++) await ours.increment('runs:bench', 60_000, 100_000_000, 60_000, 'runs');
      expect(await ours.increment('runs:bench', 60_000, 100_000_000, 60_000, 'runs')).toMatchObject({
        totalHits: 200_001,
        isBlocked: false,
      });
    } finally {
      ours.onApplicationShutdown();
    }
  });
});

import fc from 'fast-check';
import { nextPurgeBatch, PURGE_BATCH_TARGET_MS } from '../../../src/audit/store/purge-pace.js';

/** The purge's batch size follows how long the last batch held the chain lock (the rule runs hold up on). */
describe('nextPurgeBatch', () => {
  it('a batch that held the lock twice the target is followed by one half its size', () => {
    expect(nextPurgeBatch(200, 2 * PURGE_BATCH_TARGET_MS, 1000)).toBe(100);
  });

  it('a batch that held it ten times the target is followed by one a tenth its size', () => {
    expect(nextPurgeBatch(1000, 10 * PURGE_BATCH_TARGET_MS, 1000)).toBe(100);
  });

  it('a batch on target keeps its size', () => {
    expect(nextPurgeBatch(300, PURGE_BATCH_TARGET_MS, 1000)).toBe(300);
  });

  it('a quick batch grows the next at most twofold, even one the timer saw take no time', () => {
    expect(nextPurgeBatch(100, PURGE_BATCH_TARGET_MS / 8, 1000)).toBe(200);
    expect(nextPurgeBatch(100, 0, 1000)).toBe(200);
  });

  it('never more than the store allows, never less than one row', () => {
    expect(nextPurgeBatch(800, 1, 1000)).toBe(1000);
    expect(nextPurgeBatch(2, 0.5, 2)).toBe(2);
    expect(nextPurgeBatch(1, 60_000, 1000)).toBe(1);
  });

  it('for any batch and any time, the next is a whole number of rows within its bounds and the time left', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.integer({ min: 1, max: 5000 }),
        (size, heldMs, max) => {
          const next = nextPurgeBatch(size, heldMs, max);
          expect(Number.isInteger(next)).toBe(true);
          expect(next).toBeGreaterThanOrEqual(1);
          expect(next).toBeLessThanOrEqual(Math.max(1, Math.min(max, 2 * size)));
          // At the pace the last batch went, the next one fits the target (unless it is a single row).
          if (next > 1) expect((next * heldMs) / size).toBeLessThanOrEqual(PURGE_BATCH_TARGET_MS + 1e-9);
        },
      ),
    );
  });
});

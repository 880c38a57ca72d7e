import { FOLLOW_MAX_INTERVALS, followGapMs } from '../../../src/backups/waves/follow-pace.js';

describe("the pace at which a fleet run's running jobs are followed", () => {
  it('waits one interval at least, however young the job', () => {
    expect(followGapMs(0, 1000)).toBe(1000);
    expect(followGapMs(999, 1000)).toBe(1000);
  });

  it('then waits as long as the job has run so far', () => {
    expect(followGapMs(4_000, 1000)).toBe(4_000);
    expect(followGapMs(12_345, 1000)).toBe(12_345);
  });

  it('never waits more than 30 intervals: the end of a backup of hours is seen within them', () => {
    expect(FOLLOW_MAX_INTERVALS).toBe(30);
    expect(followGapMs(29_999, 1000)).toBe(29_999);
    expect(followGapMs(2 * 3600_000, 1000)).toBe(30_000);
    expect(followGapMs(2 * 3600_000, 100)).toBe(3_000);
  });
});

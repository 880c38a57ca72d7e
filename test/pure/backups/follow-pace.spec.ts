import { FOLLOW_MAX_INTERVALS, FollowTimes, followGapMs } from '../../../src/backups/waves/follow-pace.js';

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

describe('FollowTimes: when each running member is next asked', () => {
  const T0 = Date.parse('2026-12-08T10:00:00.000Z');
  const at = (ms: number) => new Date(T0 + ms).toISOString();
  /** The moments, in ms after T0, at which a member started at T0 is asked, stepping every 100 ms up to `untilMs`. */
  function asks(times: FollowTimes, untilMs: number, startedAt: string | undefined = at(0)): number[] {
    const moments: number[] = [];
    for (let now = 0; now <= untilMs; now += 100)
      if (times.due('run-1', 'vc-1', startedAt, T0 + now)) moments.push(now);
    return moments;
  }

  it('asks one interval after the start, then after as long as the job has run, then every 30 intervals', () => {
    expect(asks(new FollowTimes(1000), 130_000)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 62_000, 92_000, 122_000,
    ]);
  });

  it('asks a member whose start is long past at once, then 30 intervals later (a run taken over from a replica)', () => {
    const times = new FollowTimes(1000);
    expect(times.due('run-1', 'vc-1', at(-3600_000), T0)).toBe(true);
    expect(times.due('run-1', 'vc-1', at(-3600_000), T0 + 29_900)).toBe(false);
    expect(times.due('run-1', 'vc-1', at(-3600_000), T0 + 30_000)).toBe(true);
  });

  it('counts a start in its future (another clock) as now: asked one interval later, not when that clock says', () => {
    const times = new FollowTimes(1000);
    const ahead = at(5 * 60_000);
    expect(times.due('run-1', 'vc-1', ahead, T0)).toBe(false);
    expect(times.due('run-1', 'vc-1', ahead, T0 + 900)).toBe(false);
    expect(times.due('run-1', 'vc-1', ahead, T0 + 1000)).toBe(true);
    expect(times.due('run-1', 'vc-1', ahead, T0 + 1900)).toBe(false);
    expect(times.due('run-1', 'vc-1', ahead, T0 + 2000)).toBe(true);
  });

  it('treats an unreadable or missing start as now: one interval after it first sees the member, then every interval', () => {
    for (const startedAt of [undefined, 'not a time']) {
      const times = new FollowTimes(1000);
      expect(times.due('run-1', 'vc-1', startedAt, T0)).toBe(false);
      expect(times.due('run-1', 'vc-1', startedAt, T0 + 1000)).toBe(true);
      expect(times.due('run-1', 'vc-1', startedAt, T0 + 1900)).toBe(false);
      expect(times.due('run-1', 'vc-1', startedAt, T0 + 2000)).toBe(true);
    }
  });

  it('keeps each member and each run apart', () => {
    const times = new FollowTimes(1000);
    expect(times.due('run-1', 'vc-1', at(0), T0 + 1000)).toBe(true);
    expect(times.due('run-1', 'vc-2', at(0), T0 + 1000)).toBe(true);
    expect(times.due('run-2', 'vc-1', at(0), T0 + 1000)).toBe(true);
    expect(times.due('run-1', 'vc-1', at(0), T0 + 1500)).toBe(false);
  });

  it('forgets a run, and every run but those still held: their members are asked afresh', () => {
    const times = new FollowTimes(1000);
    const long = at(-3600_000);
    for (const run of ['run-1', 'run-2', 'run-3']) expect(times.due(run, 'vc-1', long, T0)).toBe(true);
    times.forget('run-1');
    expect(times.due('run-1', 'vc-1', long, T0 + 1000)).toBe(true);
    expect(times.due('run-3', 'vc-1', long, T0 + 1000)).toBe(false);
    times.keepOnly(['run-2']);
    expect(times.due('run-2', 'vc-1', long, T0 + 1100)).toBe(false);
    expect(times.due('run-3', 'vc-1', long, T0 + 1100)).toBe(true);
  });
});

/**
 * How often a fleet run's running members are asked for their jobs. Following every running member every
 * `jobs.pollIntervalMs` made a fleet run over a thousand appliances cost them and the gateway a thousand requests a
 * second for as long as the backups ran (bench/README.md, "Following a fleet's jobs").
 */

/** The longest gap between two asks, in poll intervals: the end of a backup of hours is seen within 30 intervals. */
export const FOLLOW_MAX_INTERVALS = 30;

/**
 * The time until a running member's job is asked for again, after an ask `ranMs` after it started: as long as it has
 * run (its end is seen within its own time again: a few percent of a backup of minutes), one interval at least,
 * FOLLOW_MAX_INTERVALS at most.
 */
export function followGapMs(ranMs: number, intervalMs: number): number {
  return Math.min(intervalMs * FOLLOW_MAX_INTERVALS, Math.max(intervalMs, ranMs));
}

/**
 * When each running member of the fleet runs this process holds is next asked for its job: one interval after it
 * started, then as followGapMs paces it. In memory: a replica that takes a run over starts its own times.
 */
export class FollowTimes {
  /** By fleet run id, then appliance. */
  private readonly next = new Map<string, Map<string, number>>();

  constructor(private readonly intervalMs: number) {}

  /**
   * Whether the member is asked now; if so, its next time is set (whatever the answer). `startedAt` is the store's
   * ISO time of its start; a start this process's clock puts in the future (another replica's clock) counts as now,
   * and so does one that cannot be read (the stores always write it): such a member is asked every interval.
   */
  due(run: string, appliance: string, startedAt: string | undefined, now: number): boolean {
    const parsed = startedAt === undefined ? Number.NaN : Date.parse(startedAt);
    const started = Number.isFinite(parsed) ? Math.min(parsed, now) : now;
    let times = this.next.get(run);
    if (!times) {
      times = new Map<string, number>();
      this.next.set(run, times);
    }
    const at = times.get(appliance) ?? started + this.intervalMs;
    if (now < at) {
      times.set(appliance, at);
      return false;
    }
    times.set(appliance, now + followGapMs(now - started, this.intervalMs));
    return true;
  }

  /** A run that ended, or that this process no longer holds. */
  forget(run: string): void {
    this.next.delete(run);
  }

  /** Keeps the times of these runs only. */
  keepOnly(runs: Iterable<string>): void {
    const held = new Set(runs);
    for (const run of this.next.keys()) if (!held.has(run)) this.next.delete(run);
  }
}

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

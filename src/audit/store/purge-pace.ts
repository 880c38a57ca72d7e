/**
 * How many rows the next purge transaction deletes. Each transaction holds the chain lock (SQLite's write lock,
 * PostgreSQL's chain head row), which every run's entries wait for, so a batch is sized by the time it holds that
 * lock rather than by a fixed count: what a row costs grows with the trail (its index pages scatter) and differs
 * between stores and disks. 1,000-row batches held it ~40 ms at 500,000 entries and ~190 ms at 10M on SQLite
 * (bench/README.md, "Audit trail at 10M"), and runs waited for them.
 */

/** The longest a batch should hold the chain lock: a run's two entries then wait at most about twice this. */
export const PURGE_BATCH_TARGET_MS = 10;
/** The most rows in one transaction, however cheap they are (the store's `purgeBatch` may lower it). */
export const PURGE_BATCH_MAX = 1000;
/** The first batch, before any has been timed: small, since nothing is known of this trail's cost per row yet. */
export const PURGE_BATCH_FIRST = 100;

/**
 * The size of the next batch from the last one's size and how long it held the lock: proportional to the time left
 * under the target, growing at most twofold per batch (one quick batch, such as one whose pages were cached, does
 * not make the next ten times as long), and never below one row or above `max`.
 */
export function nextPurgeBatch(size: number, heldMs: number, max: number): number {
  const scaled = Math.floor((size * PURGE_BATCH_TARGET_MS) / Math.max(heldMs, 0.001));
  return Math.max(1, Math.min(max, 2 * size, scaled));
}

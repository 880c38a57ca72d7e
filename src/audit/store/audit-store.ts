import type { ChainSource } from '../audit-chain.js';
import type { AuditDraft, AuditEntry, AuditEvent, AuditFilter, VerifyResult } from '../audit-entry.js';
import type { FleetRunStore } from '../fleet-runs.js';
import type { IdempotencyKeyStore } from '../idempotency-keys.js';
import type { OutboxStore } from '../outbox.js';

export const AUDIT_STORE = Symbol('AUDIT_STORE');

/**
 * The most entries one group commit writes: the one batch size of the audit path (the store cuts its commits at it,
 * the spool drains this many at a time). 24 columns each stays far below SQLite's and PostgreSQL's bound-parameter
 * limits.
 */
export const GROUP_COMMIT_MAX = 200;

export interface PurgeResult {
  deleted: number;
  /** The chain now starts after this seq, linking to `anchorHash`. */
  anchorSeq: number;
  anchorHash: string;
  /**
   * The store was closed (the gateway is stopping) before the purge was over: it stopped between two batches, each
   * whole, and the next purge goes on from the anchor.
   */
  interrupted?: true;
}

/**
 * An event's place in the order pages list them: newest first by `time` (when it happened), then by `seq`. Not by
 * `seq` alone: a filter on a time range is then one range of an index that starts with the filtered column and goes
 * on with (`time`, `seq`), however old the range, instead of a walk over every newer entry. (The two orders differ
 * only for an entry written late, from the spool: it keeps the time it happened.) `time` is missing for a position
 * read from a cursor of the first form, which held only the seq: the entry's own time is then used.
 */
export interface AuditPosition {
  seq: number;
  time?: string;
}

/** A page of events: at most `limit`, those after `before` (exclusive) in the order above, or from the newest. */
export interface AuditPageRequest {
  limit: number;
  before?: AuditPosition;
}

/**
 * A page of the NDJSON export: one JSON line per event, newest first. Text, not bytes: the socket encodes it as it
 * writes, without a JavaScript buffer. Buffers are memory outside V8's heap, and the gigabytes of them an export of a
 * long trail passed through made V8 run full collections of the gateway's heap (a fifth of the event loop's time
 * in a 10M export, pauses of 10–16 ms; bench/README.md, "Export pages as text").
 */
export interface NdjsonPage {
  ndjson: string;
  count: number;
  /** Where the page's last (oldest) event stands: the next page's `before`. */
  last: AuditPosition | undefined;
}

/**
 * Where the chain lives: SQLite (one gateway) or PostgreSQL (several replicas), one schema, one behaviour.
 * `append` is the only write to the chain besides the retention purge; both run serialised, in this process (a
 * promise queue) and across processes (a lock on the chain head row), so the chain stays linear and `seq` has no
 * gaps.
 */
export interface AuditStore extends ChainSource, IdempotencyKeyStore, OutboxStore {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Entries per page of the NDJSON export. A page is built in one turn of the thread that reads it (queryNdjson), so a
   * store that reads on the event loop keeps its pages small.
   */
  readonly exportPageSize: number;
  /** The fleet runs (audit/fleet-runs.ts), in the same database. */
  readonly fleetRuns: FleetRunStore;
  /** Connects and runs the schema migrations. May be called again after a failure. */
  open(): Promise<void>;
  /** Waits for queued writes, then disconnects. */
  close(): Promise<void>;
  /**
   * Places the draft after the current head, durably; resolves with the sealed entry once committed. Idempotent by
   * the draft's id. Rejects with DraftRejectedError when this draft can never be stored (retrying cannot help).
   */
  append(draft: AuditDraft): Promise<AuditEntry>;
  /** Newest first (AuditPosition); `before` is the keyset cursor (exclusive). */
  query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditEvent[]>;
  /**
   * The same page as NDJSON bytes, serialised where the rows are read: on the SQLite worker, which hands the bytes
   * over without a copy, so the event loop only writes them to the socket.
   */
  queryNdjson(filter: AuditFilter, page: AuditPageRequest): Promise<NdjsonPage>;
  /** Walks the whole chain (audit-chain.ts) a page at a time, letting other work run between pages. */
  verify(): Promise<VerifyResult>;
  /** Deletes the longest prefix of the chain older than `cutoff` (ISO 8601 UTC) and moves the anchor after it. */
  purgeBefore(cutoff: string): Promise<PurgeResult>;
  /** A cheap round trip; throws when the store is unusable. */
  ping(): Promise<void>;
}

/**
 * The store refused this draft for a reason that retrying cannot fix: a value with no canonical form, or one the
 * database rejects (a data exception, a CHECK or NOT NULL constraint, a value too large). Transient failures (locks,
 * connections, timeouts) are plain errors.
 */
export class DraftRejectedError extends Error {
  override readonly name = 'DraftRejectedError';

  constructor(
    readonly draftId: string,
    reason: string,
    readonly code?: string,
  ) {
    super(`audit entry ${draftId} cannot be stored: ${reason}`);
  }
}

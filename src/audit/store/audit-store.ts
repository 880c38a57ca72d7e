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
}

/** A page of the NDJSON export: one JSON line per event, newest first, UTF-8 encoded. */
export interface NdjsonPage {
  ndjson: Uint8Array;
  count: number;
  /** seq of the page's last (oldest) event: the next page's `beforeSeq`. */
  lastSeq: number | undefined;
}

/**
 * Where the chain lives: SQLite (one gateway) or PostgreSQL (several replicas), one schema, one behaviour.
 * `append` is the only write to the chain besides the retention purge; both run serialised, in this process (a
 * promise queue) and across processes (a lock on the chain head row), so the chain stays linear and `seq` has no
 * gaps.
 */
export interface AuditStore extends ChainSource, IdempotencyKeyStore, OutboxStore {
  readonly kind: 'sqlite' | 'postgres';
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
  /** Newest first; `beforeSeq` is the keyset cursor (exclusive). */
  query(filter: AuditFilter, page: { limit: number; beforeSeq?: number }): Promise<AuditEvent[]>;
  /**
   * The same page as NDJSON bytes, serialised where the rows are read: on the SQLite worker, which hands the bytes
   * over without a copy, so the event loop only writes them to the socket.
   */
  queryNdjson(filter: AuditFilter, page: { limit: number; beforeSeq?: number }): Promise<NdjsonPage>;
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

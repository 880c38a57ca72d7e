import { type ChainHead, verifyChain } from '../audit-chain.js';
import type { AuditDraft, AuditEntry, AuditEvent, AuditFilter, VerifyResult } from '../audit-entry.js';
import type { FleetRunStore } from '../fleet-runs.js';
import type { ClaimRequest, IdempotencyClaim, KeySettlement } from '../idempotency-keys.js';
import type {
  DeliveryResult,
  FollowedJob,
  OutboxCursor,
  OutboxFilter,
  OutboxMessage,
  OutboxMessageDraft,
  OutboxState,
  OutboxStats,
} from '../outbox.js';
import type { AuditPageRequest, AuditStore, NdjsonPage, PurgeResult } from './audit-store.js';
import { FLEET_RUN_CALLS, type SqliteWorkerOptions, type WorkerCall } from './audit-worker-protocol.js';
import { StoreThread, stretchOn } from './store-thread.js';

/**
 * The SQLite store as the gateway uses it: SqliteAuditStores on worker threads (audit-store-worker.ts), reached by
 * messages. better-sqlite3 works synchronously, so on the event loop every statement, fsync and chain walk stalled
 * every request (a verification of 67,000 entries: 1.4 s); here the event loop only posts and receives messages.
 *
 * Threads, each with its own connection to the file. The writer takes every call that writes, in call order; each
 * append is one message, and batching is the store's alone (its group commit): the writer reads every message that
 * arrived before its next turn, so appends made together still share one transaction. The reader takes the reads
 * an auditor or an operator makes (events, exports, verification, deliveries) on a read-only connection, which WAL
 * lets read while the writer writes: one SQL statement of a large trail can take seconds, and on the writer's thread
 * it held back every run's audit entry behind it (past the recorder's 5 s bound, a 503), so `audit:read` could deny
 * service to `backups:run`. A verification walks half the chain on the reader and half on a second read-only thread,
 * the verifier (verifyChain). The readers start with their first call.
 */
export class WorkerAuditStore implements AuditStore {
  readonly kind = 'sqlite' as const;
  /** Pages are built on the reader thread: the event loop only writes their bytes out, so pages can be long. */
  readonly exportPageSize = 500;
  /** The most rows deleted per purge transaction, sent with each purge (the worker's store paces below it). */
  purgeBatch: number | undefined;
  private readonly writer: StoreThread;
  private readonly reader: StoreThread;
  /** A second reader, for verification only: it walks half the chain while the reader walks the other half. */
  private readonly verifier: StoreThread;

  /** The fleet runs: each method a message to the writer, like the store's own. */
  readonly fleetRuns = Object.fromEntries(
    FLEET_RUN_CALLS.map((call) => [call, (...args: unknown[]) => this.write(call, ...args)]),
  ) as unknown as FleetRunStore;

  constructor(private readonly options: SqliteWorkerOptions) {
    this.writer = new StoreThread({ store: 'sqlite', ...options });
    // Opened after the writer has created and migrated the file.
    this.reader = new StoreThread({ store: 'sqlite', ...options, readOnly: true });
    this.verifier = new StoreThread({ store: 'sqlite', ...options, readOnly: true });
  }

  get path(): string {
    return this.options.path;
  }

  async open(): Promise<void> {
    await this.writer.open();
    await this.reader.open(false);
    await this.verifier.open(false);
  }

  async close(): Promise<void> {
    // Appends already called are committed first: the writer's close waits for its queued writes.
    await Promise.all([this.reader.close(), this.verifier.close(), this.writer.close()]);
  }

  append(draft: AuditDraft): Promise<AuditEntry> {
    return this.write('append', draft) as Promise<AuditEntry>;
  }

  query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditEvent[]> {
    return this.read('query', filter, page) as Promise<AuditEvent[]>;
  }

  queryNdjson(filter: AuditFilter, page: AuditPageRequest): Promise<NdjsonPage> {
    return this.read('queryNdjson', filter, page) as Promise<NdjsonPage>;
  }

  /** Half the chain on the reader, half on the verifier, each thread on its own connection and core. */
  verify(): Promise<VerifyResult> {
    return verifyChain(this, [this.reader, this.verifier].map(stretchOn));
  }

  head(): Promise<ChainHead> {
    return this.write('head') as Promise<ChainHead>;
  }

  entriesBetween(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.read('entriesBetween', afterSeq, upToSeq, limit) as Promise<AuditEntry[]>;
  }

  purgeBefore(cutoff: string): Promise<PurgeResult> {
    return this.writer.call({
      call: 'purgeBefore',
      args: [cutoff],
      purgeBatch: this.purgeBatch,
    }) as Promise<PurgeResult>;
  }

  async ping(): Promise<void> {
    await this.write('ping');
  }

  claimIdempotencyKey(claim: ClaimRequest): Promise<IdempotencyClaim> {
    return this.write('claimIdempotencyKey', claim) as Promise<IdempotencyClaim>;
  }

  completeIdempotencyKey(settlement: KeySettlement): Promise<boolean> {
    return this.write('completeIdempotencyKey', settlement) as Promise<boolean>;
  }

  async releaseIdempotencyKey(caller: string, key: string, owner: string): Promise<void> {
    await this.write('releaseIdempotencyKey', caller, key, owner);
  }

  renewIdempotencyKey(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    return this.write('renewIdempotencyKey', caller, key, owner, leaseMs) as Promise<boolean>;
  }

  purgeExpiredIdempotencyKeys(): Promise<number> {
    return this.write('purgeExpiredIdempotencyKeys') as Promise<number>;
  }

  async enqueueNotifications(
    messages: OutboxMessageDraft[],
    unfollow?: { appliance: string; jobId: string },
  ): Promise<void> {
    await this.write('enqueueNotifications', messages, unfollow);
  }

  claimNotifications(
    owner: string,
    limit: number,
    leaseMs: number,
    skip?: readonly string[],
  ): Promise<OutboxMessage[]> {
    return this.write('claimNotifications', owner, limit, leaseMs, skip) as Promise<OutboxMessage[]>;
  }

  settleNotification(id: string, owner: string, result: DeliveryResult): Promise<OutboxState | null> {
    return this.write('settleNotification', id, owner, result) as Promise<OutboxState | null>;
  }

  async releaseNotifications(owner: string, ids: string[]): Promise<void> {
    await this.write('releaseNotifications', owner, ids);
  }

  purgeNotificationsBefore(cutoff: string): Promise<number> {
    return this.write('purgeNotificationsBefore', cutoff) as Promise<number>;
  }

  listNotifications(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]> {
    return this.read('listNotifications', filter, page) as Promise<OutboxMessage[]>;
  }

  notificationStats(): Promise<OutboxStats> {
    return this.read('notificationStats') as Promise<OutboxStats>;
  }

  claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]> {
    return this.write('claimFollowedJobs', owner, limit, leaseMs) as Promise<FollowedJob[]>;
  }

  private write(call: WorkerCall, ...args: unknown[]): Promise<unknown> {
    return this.writer.call({ call, args });
  }

  private read(call: WorkerCall, ...args: unknown[]): Promise<unknown> {
    return this.reader.call({ call, args });
  }
}

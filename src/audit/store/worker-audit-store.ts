import { Worker } from 'node:worker_threads';
import type { ChainHead } from '../audit-chain.js';
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
  OutboxStats,
} from '../outbox.js';
import type { AuditStore, NdjsonPage, PurgeResult } from './audit-store.js';
import {
  deserializeError,
  FLEET_RUN_CALLS,
  type SqliteWorkerOptions,
  type WorkerCall,
  type WorkerReply,
  type WorkerRequest,
} from './audit-worker-protocol.js';

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type WorkerRequestBody = { call: WorkerCall; args: unknown[]; purgeBatch?: number };

/**
 * The SQLite store as the gateway uses it: a SqliteAuditStore on a worker thread (sqlite-audit-worker.ts), reached by
 * messages. better-sqlite3 works synchronously, so on the event loop every statement, fsync and chain walk stalled
 * every request (a verification of 67,000 entries: 1.4 s); here the event loop only posts and receives messages.
 *
 * Each append is one message, in call order; batching is the store's alone (its group commit): the worker reads every
 * message that arrived before its next turn, so appends made together still share one transaction. Should the worker
 * die, calls under way fail and the next call starts a
 * new one. While no call is under way the worker does not keep the process alive, like the synchronous store it
 * wraps.
 */
export class WorkerAuditStore implements AuditStore {
  readonly kind = 'sqlite' as const;
  /** Rows deleted per purge transaction, sent with each purge. */
  purgeBatch: number | undefined;
  /** The worker started last, while it runs (its store may still be opening). */
  private worker: Worker | undefined;
  /** Resolves with that worker once its store is open. */
  private ready: Promise<Worker> | undefined;
  /** Between open() and close(): a worker that died is replaced on the next call. */
  private wanted = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** The fleet runs: each method a message to the worker, like the store's own. */
  readonly fleetRuns = Object.fromEntries(
    FLEET_RUN_CALLS.map((call) => [call, (...args: unknown[]) => this.call(call, ...args)]),
  ) as unknown as FleetRunStore;

  constructor(private readonly options: SqliteWorkerOptions) {}

  get path(): string {
    return this.options.path;
  }

  async open(): Promise<void> {
    this.wanted = true;
    await this.started();
  }

  async close(): Promise<void> {
    // Appends already called are committed first: their messages go out before this one (both wait for the same
    // worker, in call order), and the store's close waits for its queued writes.
    this.wanted = false;
    const worker = await this.ready?.catch(() => undefined);
    this.ready = undefined;
    if (!worker) return;
    try {
      await this.send(worker, { call: 'close', args: [] });
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }

  append(draft: AuditDraft): Promise<AuditEntry> {
    return this.call('append', draft) as Promise<AuditEntry>;
  }

  query(filter: AuditFilter, page: { limit: number; beforeSeq?: number }): Promise<AuditEvent[]> {
    return this.call('query', filter, page) as Promise<AuditEvent[]>;
  }

  queryNdjson(filter: AuditFilter, page: { limit: number; beforeSeq?: number }): Promise<NdjsonPage> {
    return this.call('queryNdjson', filter, page) as Promise<NdjsonPage>;
  }

  verify(): Promise<VerifyResult> {
    return this.call('verify') as Promise<VerifyResult>;
  }

  head(): Promise<ChainHead> {
    return this.call('head') as Promise<ChainHead>;
  }

  entriesBetween(afterSeq: number, upToSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.call('entriesBetween', afterSeq, upToSeq, limit) as Promise<AuditEntry[]>;
  }

  async purgeBefore(cutoff: string): Promise<PurgeResult> {
    const worker = await this.started();
    return this.send(worker, {
      call: 'purgeBefore',
      args: [cutoff],
      purgeBatch: this.purgeBatch,
    }) as Promise<PurgeResult>;
  }

  async ping(): Promise<void> {
    await this.call('ping');
  }

  claimIdempotencyKey(claim: ClaimRequest): Promise<IdempotencyClaim> {
    return this.call('claimIdempotencyKey', claim) as Promise<IdempotencyClaim>;
  }

  completeIdempotencyKey(settlement: KeySettlement): Promise<boolean> {
    return this.call('completeIdempotencyKey', settlement) as Promise<boolean>;
  }

  async releaseIdempotencyKey(caller: string, key: string, owner: string): Promise<void> {
    await this.call('releaseIdempotencyKey', caller, key, owner);
  }

  purgeExpiredIdempotencyKeys(): Promise<number> {
    return this.call('purgeExpiredIdempotencyKeys') as Promise<number>;
  }

  async enqueueNotifications(
    messages: OutboxMessageDraft[],
    unfollow?: { appliance: string; jobId: string },
  ): Promise<void> {
    await this.call('enqueueNotifications', messages, unfollow);
  }

  claimNotifications(owner: string, limit: number, leaseMs: number): Promise<OutboxMessage[]> {
    return this.call('claimNotifications', owner, limit, leaseMs) as Promise<OutboxMessage[]>;
  }

  settleNotification(id: string, owner: string, result: DeliveryResult): Promise<boolean> {
    return this.call('settleNotification', id, owner, result) as Promise<boolean>;
  }

  listNotifications(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]> {
    return this.call('listNotifications', filter, page) as Promise<OutboxMessage[]>;
  }

  notificationStats(): Promise<OutboxStats> {
    return this.call('notificationStats') as Promise<OutboxStats>;
  }

  claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]> {
    return this.call('claimFollowedJobs', owner, limit, leaseMs) as Promise<FollowedJob[]>;
  }

  private async call(call: WorkerCall, ...args: unknown[]): Promise<unknown> {
    return this.send(await this.started(), { call, args });
  }

  /** The running worker with the store open in it; started (again) when needed, never after close(). */
  private started(): Promise<Worker> {
    if (!this.wanted) return Promise.reject(new Error('the sqlite audit store is not open'));
    if (!this.ready) {
      const ready = this.start();
      this.ready = ready;
      ready.catch(() => {
        if (this.ready === ready) this.ready = undefined;
      });
    }
    return this.ready;
  }

  private async start(): Promise<Worker> {
    const worker = new Worker(workerScript(), { workerData: this.options });
    this.worker = worker;
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.stopped(worker, error));
    worker.on('exit', (code) => this.stopped(worker, new Error(`the SQLite audit worker stopped (exit code ${code})`)));
    try {
      await this.send(worker, { call: 'open', args: [] });
      return worker;
    } catch (error) {
      if (this.worker === worker) this.worker = undefined;
      await worker.terminate();
      throw error;
    }
  }

  private send(worker: Worker, body: WorkerRequestBody): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.refresh();
      worker.postMessage({ id, ...body } as WorkerRequest);
    });
  }

  private settle(reply: WorkerReply): void {
    const waiting = this.waiting.get(reply.id);
    if (!waiting) return;
    this.waiting.delete(reply.id);
    if ('error' in reply) waiting.reject(deserializeError(reply.error));
    else waiting.resolve(reply.value);
    this.refresh();
  }

  /** Every call under way fails; the next call starts a new worker (unless the store was closed). */
  private stopped(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = undefined;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const call of waiting) call.reject(error);
  }

  /** The worker keeps the process alive exactly while something waits for it. */
  private refresh(): void {
    if (!this.worker) return;
    if (this.waiting.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/** Built, the worker is the .js beside this module; run from the TypeScript sources (jest), it is the built one. */
function workerScript(): URL {
  const here = new URL(import.meta.url);
  return here.pathname.endsWith('.ts')
    ? new URL('../../../dist/audit/store/sqlite-audit-worker.js', here)
    : new URL('./sqlite-audit-worker.js', here);
}

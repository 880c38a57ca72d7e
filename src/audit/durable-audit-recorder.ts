import { dirname, join, resolve } from 'node:path';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { withTimeout } from '../common/with-timeout.js';
import { type AuditConfig, GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { completedDraft, deniedDraft, rateLimitedDraft, replayedDraft, requestedDraft } from './audit-draft.js';
import type {
  AuditCompletedInput,
  AuditDeniedInput,
  AuditDraft,
  AuditEntry,
  AuditRateLimitedInput,
  AuditReplayedInput,
  AuditRequestedInput,
} from './audit-entry.js';
import { logFields } from './audit-log-fields.js';
import { AuditRecorder } from './audit-recorder.js';
import { AuditSpool } from './audit-spool.js';
import { auditUnavailable } from './audit-unavailable.js';
import { OutboxRouter } from './outbox.js';
import { DraftRejectedError, GROUP_COMMIT_MAX } from './store/audit-store.js';
import { AuditStoreHandle } from './store/audit-store-handle.js';

/** A run waits this long for its `requested` entry before it is refused (fail closed, never hang). */
const REQUESTED_TIMEOUT_MS = 5000;
/**
 * A completion waits this long for the store, then goes to the spool. Should the write land after all, the spool's
 * copy is stored once: appends are idempotent by entry id.
 */
const COMPLETED_TIMEOUT_MS = 5000;
/** Spooled entries are retried with exponential backoff between these bounds. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 30_000;
const REFUSED = 'The audit trail cannot be written, so the run was not sent to the appliance. Retry later.';

/** `audit.spoolPath`, else `audit-spool.ndjson` beside the SQLite database, else `data/audit-spool.ndjson`. */
export function spoolPath(audit: AuditConfig): string {
  if (audit.spoolPath !== undefined) return resolve(audit.spoolPath);
  if (audit.store === 'sqlite') return join(dirname(resolve(audit.sqlite.path)), 'audit-spool.ndjson');
  return resolve('data', 'audit-spool.ndjson');
}

/**
 * The audit trail's write side (see AuditRecorder), and the store's owner: it writes through the AuditStoreHandle
 * (which opens the store, and again after a failure; the app starts even if it cannot, runs are then refused) and
 * closes the store last at shutdown, after its own last writes.
 *
 * A `completed` or `denied` entry the store does not take (it fails, or has not committed within 5 s) is logged in
 * full at once (`audit: true, written: false`) and appended to the spool (audit-spool.ts), fsynced, before the call
 * resolves; the spool is written to the store in order, with backoff, once it takes writes again, also by the next
 * process after a crash. While the spool holds entries, new ones queue behind them. A draft the store refuses for
 * good (DraftRejectedError) is logged in full (`rejected: true`) and dropped, never retried forever.
 * Every entry written is also one info log line: `audit: true` and the entry's fields, its time as `entryTime`.
 */
@Injectable()
export class DurableAuditRecorder extends AuditRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly spool: AuditSpool;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  private draining: Promise<void> | undefined;

  constructor(
    private readonly handle: AuditStoreHandle,
    config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
    /** Provided by notifications/: what a completion raises (run.accepted, the job to follow) commits with it. */
    @Optional() private readonly router?: OutboxRouter,
  ) {
    super();
    this.spool = new AuditSpool(spoolPath(config.audit), logger);
  }

  async onModuleInit(): Promise<void> {
    const left = await this.spool.load().catch((error: unknown) => {
      this.logger.error({ err: error, spool: this.spool.path }, 'the audit spool cannot be read; it is left as it is');
      return 0;
    });
    if (left > 0) {
      this.logger.warn(
        { spool: this.spool.path, entries: left },
        'audit entries left in the spool by an earlier process: writing them to the store',
      );
    }
    this.metrics.auditSpoolDepth.set(this.spool.size);
    if (this.spool.size > 0) this.scheduleDrain(0);
  }

  /** Nest calls this after the HTTP server has closed, so no request can still be recording. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.draining;
    if (this.spool.size > 0) await this.drain();
    for (const draft of this.spool.oldest(this.spool.size)) {
      if (this.spool.onDisk(draft)) continue;
      this.logger.error(
        { audit: true, written: false, ...logFields(draft) },
        'audit entry never reached the store or the spool before shutdown; this log line is its only record',
      );
    }
    if (this.spool.size > 0) {
      this.logger.warn(
        { spool: this.spool.path, entries: this.spool.size },
        'audit entries still wait in the spool: the next start writes them to the store',
      );
    }
    await this.spool.close();
    await this.handle.close();
  }

  async requested(input: AuditRequestedInput): Promise<string> {
    const started = Date.now();
    const draft = requestedDraft(input);
    const store = await this.handle.open();
    if (!store) {
      this.logger.error({ audit: true, written: false, ...logFields(draft) }, 'audit store unavailable; run refused');
      throw auditUnavailable(REFUSED);
    }
    const writing = store.append(draft);
    let entry: AuditEntry;
    try {
      entry = await withTimeout(writing, REQUESTED_TIMEOUT_MS, 'audit write timed out');
    } catch (error) {
      this.logger.error(
        { audit: true, written: false, ...rejected(error), ...logFields(draft), err: error },
        'requested audit entry not written; run refused',
      );
      // Should the write land after all, it records a run that was refused: complete it as such, so that it does
      // not read as `unknown` forever.
      writing.then(
        (late) => {
          this.logEntry(late);
          const completion = { outcome: 'failed', httpStatus: 503, code: 'AUDIT_UNAVAILABLE' } as const;
          void this.record(
            completedDraft({ ...input, ...completion, durationMs: Date.now() - started, requestedId: late.id }),
          );
        },
        () => undefined,
      );
      throw auditUnavailable(REFUSED, error);
    }
    this.logEntry(entry);
    if (this.spool.size > 0) this.scheduleDrain(0);
    return entry.id;
  }

  async completed(input: AuditCompletedInput): Promise<string> {
    return this.recordSafely(() => this.withOutbox(completedDraft(input)), 'completed', input?.requestId);
  }

  async denied(input: AuditDeniedInput): Promise<string> {
    return this.recordSafely(() => deniedDraft(input), 'denied', input?.requestId);
  }

  async replayed(input: AuditReplayedInput): Promise<string> {
    return this.recordSafely(() => replayedDraft(input), 'replayed', input?.requestId);
  }

  async rateLimited(input: AuditRateLimitedInput): Promise<string> {
    return this.recordSafely(() => rateLimitedDraft(input), 'rate-limited', input?.requestId);
  }

  /**
   * Entries that must never fail their caller (the answer is already decided): written or spooled, resolving with
   * the entry's id ('' only if the draft could not even be built, which is logged).
   */
  private async recordSafely(build: () => AuditDraft, kind: string, requestId: string | undefined): Promise<string> {
    try {
      const draft = build();
      await this.record(draft);
      return draft.id;
    } catch (error) {
      this.logger.error({ err: error, requestId }, `recording a ${kind} audit entry failed`);
      return '';
    }
  }

  override settlementWaiting(caller: string, key: string): boolean {
    return this.spool.settles(caller, key);
  }

  healthy(): Promise<boolean> {
    return this.handle.healthy();
  }

  /** A notification that cannot be built is logged and left out: it never costs the entry. */
  private withOutbox(draft: AuditDraft): AuditDraft {
    try {
      const outbox = this.router?.forCompleted(draft);
      return outbox ? { ...draft, outbox } : draft;
    } catch (error) {
      this.logger.error(
        { err: error, requestId: draft.requestId },
        'the notifications of a completion cannot be built',
      );
      return draft;
    }
  }

  /** Written now if the store takes it, else spooled; resolves either way, once the entry is durable somewhere. */
  private async record(draft: AuditDraft): Promise<void> {
    const attempt =
      this.spool.size > 0
        ? { failure: new Error('earlier entries are still waiting in the spool') }
        : await this.writeNow(draft);
    if (!('failure' in attempt)) return;
    const { failure } = attempt;
    this.logger.error(
      { audit: true, written: false, ...logFields(draft), err: failure },
      'audit entry not written yet; kept in the spool and written once the store takes it',
    );
    await this.spool.add(draft);
    this.metrics.auditWriteFailures.inc();
    this.metrics.auditSpoolDepth.set(this.spool.size);
    this.scheduleDrain(this.retryDelayMs);
  }

  /** Done: written, or refused for good (logged); else why the store did not take it. */
  private async writeNow(draft: AuditDraft): Promise<{ done: true } | { failure: unknown }> {
    const store = await this.handle.open();
    if (!store) return { failure: new Error('the audit store is not open') };
    try {
      this.logEntry(await withTimeout(store.append(draft), COMPLETED_TIMEOUT_MS, 'audit write timed out'));
    } catch (error) {
      if (!(error instanceof DraftRejectedError)) return { failure: error };
      this.logRejected(draft, error);
    }
    return { done: true };
  }

  private scheduleDrain(delayMs: number): void {
    if (this.stopping || this.draining) return;
    if (this.retryTimer) {
      if (delayMs > 0) return;
      clearTimeout(this.retryTimer);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
        if (this.spool.size > 0) this.scheduleDrain(this.retryDelayMs);
      });
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Oldest first, one group commit's worth at a time (appended together, so they share it); stops at the first entry the store does not take, and backs off. */
  private async drain(): Promise<void> {
    for (;;) {
      const chunk = this.spool.oldest(GROUP_COMMIT_MAX);
      if (chunk.length === 0) break;
      const store = await this.handle.open();
      if (!store) return this.backOff(new Error('the audit store is not open'));
      const results = await Promise.allSettled(
        chunk.map((draft) => withTimeout(store.append(draft), COMPLETED_TIMEOUT_MS, 'audit write timed out')),
      );
      let done = 0;
      for (const result of results) {
        if (result.status === 'fulfilled') this.logEntry(result.value);
        else if (result.reason instanceof DraftRejectedError) this.logRejected(chunk[done], result.reason);
        else break;
        done++;
      }
      this.spool.remove(done);
      this.metrics.auditSpoolDepth.set(this.spool.size);
      if (done < chunk.length) return this.backOff((results[done] as PromiseRejectedResult).reason);
    }
    this.retryDelayMs = RETRY_MIN_MS;
    await this.spool.clearIfDone();
  }

  private backOff(error: unknown): void {
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    this.logger.warn(
      { err: error, waiting: this.spool.size, spool: this.spool.path, retryInMs: this.retryDelayMs },
      'audit store still failing; entries wait in the spool',
    );
  }

  private logEntry(entry: AuditEntry): void {
    this.logger.info({ audit: true, ...logFields(entry) }, 'audit entry');
  }

  private logRejected(draft: AuditDraft, error: DraftRejectedError): void {
    this.logger.error(
      { audit: true, written: false, rejected: true, ...logFields(draft), err: error },
      'the audit store refuses this entry for good, so it is not retried; this log line is its only record',
    );
  }
}

function rejected(error: unknown): { rejected?: true } {
  return error instanceof DraftRejectedError ? { rejected: true } : {};
}

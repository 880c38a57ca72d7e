import { Readable } from 'node:stream';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from '../problems/gateway-error.js';
import { completedDraft, deniedDraft, requestedDraft } from './audit-draft.js';
import type {
  AuditCompletedInput,
  AuditDeniedInput,
  AuditDraft,
  AuditEntry,
  AuditEvent,
  AuditFilter,
  AuditRequestedInput,
  VerifyResult,
} from './audit-entry.js';
import { AUDIT_STORE, type AuditStore, DraftRejectedError, type PurgeResult } from './audit-store.js';

/** A run waits this long for its `requested` entry before it is refused (fail closed, never hang). */
const REQUESTED_TIMEOUT_MS = 5000;
/** After a failed open, the next request or health check tries again no sooner than this. */
const REOPEN_INTERVAL_MS = 5000;
/** Unwritten `completed` entries are retried with exponential backoff between these bounds. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 30_000;
/** Beyond this many unwritten entries the oldest leave memory; each was logged in full when it failed. */
const MAX_UNWRITTEN = 10_000;
const PURGE_INTERVAL_MS = 24 * 60 * 60 * 1000;
const HEALTH_TIMEOUT_MS = 2000;
/**
 * Entries per page of the NDJSON export. The page's bytes are made where the rows are read: on the SQLite worker
 * (the event loop only writes them out), on the event loop for PostgreSQL (~2–3 ms for 500 entries, measured).
 */
const EXPORT_PAGE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AuditEventsPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

/**
 * The audit trail: who asked for which backup run, from where, and what came of it.
 *
 * - recordRequested is written before anything reaches the appliance and fails closed (AUDIT_UNAVAILABLE).
 * - recordCompleted / recordDenied never throw and never drop an entry: a failed write is logged in full at once
 *   (`audit: true, written: false`) and retried from memory with backoff until it lands or the process stops. An
 *   entry the store refuses for good (DraftRejectedError) is logged in full (`rejected: true`) and not retried.
 * - Drafts come from audit-draft.ts, which makes every string canonical before anything hashes it.
 * - A `completed` entry names its `requested` entry (`requestedId`); a `requested` entry without one reads as
 *   `finalOutcome: unknown` (see AuditEvent). A denial (our 403) is one `completed` entry with outcome `denied` and
 *   no `requested` entry: nothing was ever going to reach the appliance.
 * - Every entry written is also one info log line: `audit: true` and the entry's fields, its time as `entryTime`
 *   (pino's own `time` is the log line's).
 * If the store cannot be opened the app still starts: healthy() is false, runs are refused, and each request or
 * health check (at most every 5 s) tries to open it again.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnApplicationShutdown {
  private isOpen = false;
  private opening: Promise<boolean> | undefined;
  private lastOpenAttempt = 0;
  private stopping = false;
  private readonly unwritten: AuditDraft[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;
  private flushing: Promise<void> | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  /** A verification under way: concurrent callers share its walk (and its result). */
  private verifying: Promise<VerifyResult> | undefined;

  private readonly store: AuditStore;
  /** `audit.store: off`: every record call is a no-op and reading is a 503. */
  private readonly off: boolean;

  constructor(
    @Inject(AUDIT_STORE) store: AuditStore | null,
    private readonly config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    this.off = store === null;
    this.store = store ?? CLOSED_STORE;
  }

  async onModuleInit(): Promise<void> {
    if (this.off) {
      this.logger.warn('audit.store is off: backup runs are NOT recorded; never run like this in production');
      return;
    }
    await this.ensureOpen();
    if (this.config.audit.retentionDays !== undefined) {
      this.purgeTimer = setInterval(() => void this.purgeExpired(), PURGE_INTERVAL_MS).unref();
      void this.purgeExpired();
    }
  }

  /** Nest calls this after the HTTP server has closed, so no request can still be recording. */
  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.off) return;
    clearInterval(this.purgeTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flushing;
    if (this.unwritten.length > 0) await this.flushUnwritten();
    for (const draft of this.unwritten.splice(0)) {
      this.logger.error(
        { audit: true, written: false, ...logFields(draft) },
        'audit entry never reached the store before shutdown; this log line is its only record',
      );
    }
    await this.store.close().catch((error) => this.logger.error({ err: error }, 'closing the audit store failed'));
    this.isOpen = false;
  }

  /**
   * Written before anything is sent to the appliance. Throws AUDIT_UNAVAILABLE unless it was written durably.
   * Resolves with the entry's id, for recordCompleted to name (`requestedId`).
   */
  async recordRequested(input: AuditRequestedInput): Promise<string | undefined> {
    if (this.off) return;
    const started = Date.now();
    const draft = requestedDraft(input);
    if (!(await this.ensureOpen())) {
      this.logger.error({ audit: true, written: false, ...logFields(draft) }, 'audit store unavailable; run refused');
      throw unavailable('The audit trail cannot be written, so the run was not sent to the appliance. Retry later.');
    }
    const writing = this.store.append(draft);
    let entry: AuditEntry;
    try {
      entry = await withTimeout(writing, REQUESTED_TIMEOUT_MS, 'audit write timed out');
    } catch (error) {
      this.logger.error(
        {
          audit: true,
          written: false,
          ...(error instanceof DraftRejectedError && { rejected: true }),
          ...logFields(draft),
          err: error,
        },
        'requested audit entry not written; run refused',
      );
      // Should the write land after all, it records a run that was refused: complete it as such, so that it does
      // not read as `unknown` forever.
      writing.then(
        (late) => {
          this.logEntry(late);
          void this.appendOrKeep(
            completedDraft({
              ...input,
              outcome: 'failed',
              httpStatus: 503,
              code: 'AUDIT_UNAVAILABLE',
              durationMs: Date.now() - started,
              requestedId: late.id,
            }),
          );
        },
        () => undefined,
      );
      throw unavailable(
        'The audit trail cannot be written, so the run was not sent to the appliance. Retry later.',
        error,
      );
    }
    this.logEntry(entry);
    if (this.unwritten.length > 0) this.scheduleRetry(0);
    return entry.id;
  }

  /** After the outcome is known. Never throws; see the class comment for what happens when the store fails. */
  async recordCompleted(input: AuditCompletedInput): Promise<void> {
    if (this.off) return;
    try {
      await this.appendOrKeep(completedDraft(input));
    } catch (error) {
      this.logger.error({ err: error, requestId: input?.requestId }, 'recording a completed audit entry failed');
    }
  }

  /** Our own 403: one `completed` entry, outcome `denied`, no `requested` entry. Never throws. */
  async recordDenied(input: AuditDeniedInput): Promise<void> {
    if (this.off) return;
    try {
      await this.appendOrKeep(deniedDraft(input));
    } catch (error) {
      this.logger.error({ err: error, requestId: input?.requestId }, 'recording a denied audit entry failed');
    }
  }

  /**
   * Walks the whole chain where the store keeps it (audit-store.ts), a page at a time. Calls arriving meanwhile share
   * the walk under way. Throws AUDIT_UNAVAILABLE when the store cannot be read.
   */
  verify(): Promise<VerifyResult> {
    this.verifying ??= this.reading(() => this.store.verify()).finally(() => {
      this.verifying = undefined;
    });
    return this.verifying;
  }

  /** For /health/ready: the store is open and answers. */
  async healthy(): Promise<boolean> {
    if (this.off) return true;
    if (!(await this.ensureOpen())) return false;
    try {
      await withTimeout(this.store.ping(), HEALTH_TIMEOUT_MS, 'audit store ping timed out');
      return true;
    } catch {
      return false;
    }
  }

  /** Newest first. `cursor` is the `nextCursor` of the previous page (keyset: nothing is skipped or repeated). */
  async events(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditEventsPage> {
    const beforeSeq = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await this.reading(() => this.store.query(filter, { limit: limit + 1, beforeSeq }));
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.seq) : null };
  }

  /**
   * Every matching entry, newest first, as NDJSON, read page by page as the consumer pulls: memory stays bounded by
   * one page however large the export. The first page is read before returning, so an unusable store is a 503,
   * not a broken stream. Entries appended after the export started are not included.
   */
  async exportNdjson(filter: AuditFilter): Promise<Readable> {
    let page = await this.reading(() => this.store.queryNdjson(filter, { limit: EXPORT_PAGE }));
    const { store, logger } = this;
    async function* pages(): AsyncGenerator<Buffer> {
      for (;;) {
        const { ndjson } = page;
        if (page.count > 0) yield Buffer.from(ndjson.buffer, ndjson.byteOffset, ndjson.byteLength);
        if (page.count < EXPORT_PAGE || page.lastSeq === undefined) return;
        const beforeSeq = page.lastSeq;
        try {
          page = await store.queryNdjson(filter, { limit: EXPORT_PAGE, beforeSeq });
        } catch (error) {
          // The status line is long gone: the response is cut off, never ended cleanly, so it cannot pass for complete.
          logger.error({ err: error }, 'audit export failed midway; response aborted');
          throw error;
        }
      }
    }
    return Readable.from(pages(), { objectMode: false });
  }

  /** The daily retention purge (also run once at start-up); public so that operators' tooling and tests can call it. */
  async purgeExpired(now = new Date()): Promise<PurgeResult | undefined> {
    const days = this.config.audit.retentionDays;
    if (days === undefined || this.off || !(await this.ensureOpen())) return undefined;
    const cutoff = new Date(now.getTime() - days * DAY_MS).toISOString();
    try {
      const result = await this.store.purgeBefore(cutoff);
      this.logger.info({ auditPurge: true, retentionDays: days, cutoff, ...result }, 'audit retention purge');
      return result;
    } catch (error) {
      this.logger.error({ err: error, cutoff }, 'audit retention purge failed; the next one runs in a day');
      return undefined;
    }
  }

  /** Writes now if the store allows, else keeps the draft for the retry loop; resolves either way. */
  private async appendOrKeep(draft: AuditDraft): Promise<void> {
    let failure: unknown = new Error('the audit store is not open');
    if (this.unwritten.length === 0 && (await this.ensureOpen())) {
      try {
        this.logEntry(await this.store.append(draft));
        return;
      } catch (error) {
        if (error instanceof DraftRejectedError) return this.logRejected(draft, error);
        failure = error;
      }
    } else if (this.unwritten.length > 0) {
      failure = new Error('earlier entries are still waiting for the store');
    }
    this.logger.error(
      { audit: true, written: false, ...logFields(draft), err: failure },
      'audit entry not written yet; kept in memory and retried',
    );
    if (this.unwritten.length >= MAX_UNWRITTEN) {
      const dropped = this.unwritten.shift() as AuditDraft;
      this.logger.error(
        { audit: true, written: false, ...logFields(dropped) },
        'audit retry queue full; this entry is dropped from memory and its log lines are its only record',
      );
    }
    this.unwritten.push(draft);
    this.scheduleRetry(this.retryDelayMs);
  }

  private scheduleRetry(delayMs: number): void {
    if (this.stopping || this.flushing) return;
    if (this.retryTimer) {
      if (delayMs > 0) return;
      clearTimeout(this.retryTimer);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flushing = this.flushUnwritten().finally(() => {
        this.flushing = undefined;
        if (this.unwritten.length > 0) this.scheduleRetry(this.retryDelayMs);
      });
    }, delayMs);
    this.retryTimer.unref();
  }

  /** Oldest first; stops at the first failure and backs off. */
  private async flushUnwritten(): Promise<void> {
    while (this.unwritten.length > 0) {
      if (!(await this.ensureOpen(this.stopping))) break;
      try {
        this.logEntry(await this.store.append(this.unwritten[0]));
        this.unwritten.shift();
      } catch (error) {
        if (error instanceof DraftRejectedError) {
          this.logRejected(this.unwritten.shift() as AuditDraft, error);
          continue;
        }
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
        this.logger.warn(
          { err: error, unwritten: this.unwritten.length, retryInMs: this.retryDelayMs },
          'audit store still failing; unwritten entries kept in memory',
        );
        return;
      }
    }
    if (this.unwritten.length === 0) this.retryDelayMs = RETRY_MIN_MS;
  }

  private async ensureOpen(evenWhenStopping = false): Promise<boolean> {
    if (this.isOpen) return true;
    if (this.stopping && !evenWhenStopping) return false;
    if (!this.opening) {
      if (Date.now() - this.lastOpenAttempt < REOPEN_INTERVAL_MS) return false;
      this.lastOpenAttempt = Date.now();
      this.opening = this.store
        .open()
        .then(
          () => {
            this.isOpen = true;
            this.logger.info({ store: this.store.kind }, 'audit store open');
            return true;
          },
          (error) => {
            this.logger.error(
              { err: error, store: this.store.kind },
              'audit store cannot be opened: runs are refused (AUDIT_UNAVAILABLE) until it can',
            );
            return false;
          },
        )
        .finally(() => {
          this.opening = undefined;
        });
    }
    return this.opening;
  }

  private async reading<T>(read: () => Promise<T>): Promise<T> {
    if (this.off) throw unavailable('The audit trail is off (audit.store: off): nothing is recorded.');
    if (!(await this.ensureOpen())) throw unavailable('The audit store is unavailable.');
    try {
      return await read();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      this.logger.error({ err: error }, 'reading the audit store failed');
      throw unavailable('The audit store could not be read.', error);
    }
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

/** Stands in for the store when the audit trail is off; never reached, since every entry point checks `off`. */
const CLOSED_STORE = new Proxy({} as AuditStore, {
  get: () => () => Promise.reject(new Error('the audit trail is off')),
});

function unavailable(detail: string, cause?: unknown): GatewayError {
  return new GatewayError('AUDIT_UNAVAILABLE', detail, { retryAfter: 30, cause });
}

/** pino writes its own `time`; a second one in the same line would be ambiguous JSON. */
function logFields(entry: AuditDraft | AuditEntry): Record<string, unknown> {
  const { time, ...rest } = entry;
  return { ...rest, entryTime: time };
}

const CURSOR_PREFIX = 'v1:';

function encodeCursor(seq: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = text.startsWith(CURSOR_PREFIX) ? Number(text.slice(CURSOR_PREFIX.length)) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new GatewayError('VALIDATION_FAILED', 'cursor is not one this API issued', {
      errors: [{ field: 'cursor', message: 'cursor is not one this API issued' }],
    });
  }
  return seq;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

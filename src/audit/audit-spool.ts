import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { auditSpoolQuarantined } from '../metrics/gateway-metrics.js';
import type { AuditDraft } from './audit-entry.js';
import { logFields } from './audit-log-fields.js';

/**
 * Where `completed` entries wait while the store cannot take them: an append-only NDJSON file, one draft a line,
 * fsynced before add() resolves, so that an entry the caller was answered for survives a crash or SIGKILL of this
 * process. The recorder writes the drafts to the store in order (appends are idempotent by entry id, so a draft
 * written twice, before and after a crash, is stored once) and then the file is truncated. A process starting on a
 * spool left by another one picks its drafts up (load). One process per spool file.
 *
 * Every draft is also kept in memory, in order; should the file itself fail (a full disk), a draft lives in memory
 * only, as before there was a spool, and its log line says so. A line is written by one write call on a file opened
 * O_APPEND, its byte count checked and fsynced: a short write (a full disk) is a failure, never "spooled".
 *
 * A line that is not a whole, well-formed draft (hand-edited, or damaged) is set aside in the quarantine file beside
 * the spool (`<spool>.quarantine`, never emptied by the gateway), logged and counted
 * (`backup_gateway_audit_spool_quarantined_total`), and the spool is rewritten without it: one bad record must not
 * hold back every completion after it until someone edits the file.
 */
export class AuditSpool {
  private readonly drafts: AuditDraft[] = [];
  /** Ids of drafts the file could not take. */
  private readonly memoryOnly = new Set<string>();
  private adding = 0;
  /** The file could not be read: whatever it holds is never truncated away. */
  private keepFile = false;
  private file: FileHandle | undefined;
  /** Size of the file's complete lines: a failed write is cut back to it, so no torn line is ever followed. */
  private bytes = 0;
  private queue: Promise<unknown> = Promise.resolve();

  readonly quarantinePath: string;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    this.quarantinePath = `${path}.quarantine`;
  }

  /** Drafts waiting, including those being added. */
  get size(): number {
    return this.drafts.length + this.adding;
  }

  /**
   * Reads what an earlier process left. A torn last line (the process died while writing it) is logged and cut off;
   * the rest is kept. Resolves with how many drafts were found.
   */
  load(): Promise<number> {
    return this.serialised(async () => {
      let content: Buffer;
      try {
        content = await readFile(this.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        this.keepFile = true;
        throw error;
      }
      const complete = content.subarray(0, content.lastIndexOf(0x0a) + 1);
      if (complete.length < content.length) {
        this.logger.error(
          { spool: this.path, torn: content.subarray(complete.length).toString('utf8') },
          'audit spool: its last line is torn (the process writing it died); skipped, the other entries are written',
        );
        const file = await this.opened();
        await file.truncate(complete.length);
        await file.sync();
      }
      this.bytes = complete.length;
      const lines = complete.toString('utf8').split('\n');
      const malformed: string[] = [];
      const readable: string[] = [];
      lines.forEach((line, index) => {
        if (line === '') return;
        const draft = parseDraft(line);
        if (draft) {
          this.drafts.push(draft);
          readable.push(line);
        } else {
          malformed.push(line);
          this.logger.error(
            { spool: this.path, line: index + 1, text: line, quarantine: this.quarantinePath },
            'audit spool: an unreadable line is set aside in the quarantine file; the entries after it are written',
          );
        }
      });
      if (malformed.length > 0) await this.quarantine(malformed, readable);
      return readable.length;
    });
  }

  /** Resolves once the draft is on disk (true), or kept in memory only because the file cannot be written (false). */
  add(draft: AuditDraft): Promise<boolean> {
    this.adding++;
    return this.serialised(async () => {
      const line = Buffer.from(`${JSON.stringify(draft)}\n`);
      try {
        const file = await this.opened();
        // One write call on an O_APPEND file: the line lands whole at the end, or the count says it did not.
        const { bytesWritten } = await file.write(line, 0, line.length);
        if (bytesWritten !== line.length) {
          throw new Error(`short write to the audit spool: ${bytesWritten} of ${line.length} bytes (disk full?)`);
        }
        await file.sync();
        this.bytes += line.length;
        return true;
      } catch (error) {
        this.logger.error(
          { audit: true, written: false, ...logFields(draft), err: error, spool: this.path },
          'audit spool cannot be written: this entry waits in memory only until the store takes it',
        );
        if (!this.keepFile) await this.file?.truncate(this.bytes).catch(() => undefined);
        this.memoryOnly.add(draft.id);
        return false;
      } finally {
        this.adding--;
        this.drafts.push(draft);
      }
    });
  }

  /** The oldest drafts, at most `count`, still in the spool. */
  oldest(count: number): AuditDraft[] {
    return this.drafts.slice(0, count);
  }

  /** Whether a waiting draft settles this Idempotency-Key (its caller's). */
  settles(caller: string, key: string): boolean {
    return this.drafts.some(({ settles }) => settles !== undefined && settles.caller === caller && settles.key === key);
  }

  /** The oldest `count` drafts are done with (written to the store, or refused by it for good). */
  remove(count: number): void {
    for (const draft of this.drafts.splice(0, count)) this.memoryOnly.delete(draft.id);
  }

  /** Whether this draft is in the file (false: memory only, lost if this process dies). */
  onDisk(draft: AuditDraft): boolean {
    return !this.memoryOnly.has(draft.id);
  }

  /** Empties the file once every draft in it is done with; a draft added meanwhile keeps it. */
  clearIfDone(): Promise<void> {
    return this.serialised(async () => {
      if (this.drafts.length > 0 || this.bytes === 0 || this.keepFile) return;
      const file = await this.opened();
      await file.truncate(0);
      await file.sync();
      this.bytes = 0;
    });
  }

  close(): Promise<void> {
    return this.serialised(async () => {
      await this.file?.close();
      this.file = undefined;
    });
  }

  /**
   * Appends the lines to the quarantine file (fsynced), then rewrites the spool without them (a new file renamed
   * over it), so that the next start does not find them again. Should either fail, the spool is kept as it is,
   * never emptied, for someone to look at: nothing is lost, and the good drafts are written meanwhile.
   */
  private async quarantine(lines: string[], readable: string[]): Promise<void> {
    auditSpoolQuarantined.inc(lines.length);
    try {
      const text = Buffer.from(lines.map((line) => `${line}\n`).join(''));
      const quarantine = await open(this.quarantinePath, 'a', 0o600);
      try {
        const { bytesWritten } = await quarantine.write(text, 0, text.length);
        if (bytesWritten !== text.length) throw new Error(`short write: ${bytesWritten} of ${text.length} bytes`);
        await quarantine.sync();
      } finally {
        await quarantine.close();
      }
      const kept = Buffer.from(readable.map((line) => `${line}\n`).join(''));
      const next = `${this.path}.rewrite`;
      const rewrite = await open(next, 'w', 0o600);
      try {
        const { bytesWritten } = await rewrite.write(kept, 0, kept.length);
        if (bytesWritten !== kept.length) throw new Error(`short write: ${bytesWritten} of ${kept.length} bytes`);
        await rewrite.sync();
      } finally {
        await rewrite.close();
      }
      await this.file?.close();
      this.file = undefined;
      await rename(next, this.path);
      await syncDirectory(dirname(this.path));
      this.bytes = kept.length;
    } catch (error) {
      this.keepFile = true;
      this.logger.error(
        { err: error, spool: this.path, quarantine: this.quarantinePath },
        'audit spool: unreadable lines could not be set aside; the spool file is kept as it is for someone to look at',
      );
    }
  }

  private async opened(): Promise<FileHandle> {
    if (this.file) return this.file;
    const directory = dirname(this.path);
    await mkdir(directory, { recursive: true });
    // O_EXCL first: a file we create needs its directory entry made durable too.
    let created = true;
    let file: FileHandle;
    try {
      file = await open(
        this.path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL,
        0o600,
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      created = false;
      file = await open(this.path, 'a', 0o600);
    }
    if (created) await syncDirectory(directory);
    this.file = file;
    return file;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function parseDraft(line: string): AuditDraft | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return isDraft(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every field of a draft with the type the store expects, so that a damaged record fails here, once, instead of in
 * the store on every retry. Nullable fields may also be absent (spools written before they existed); values are not
 * judged here: a value the store refuses for good is its DraftRejectedError, logged and dropped.
 */
function isDraft(value: unknown): value is AuditDraft {
  if (!isRecord(value) || !isRecord(value.actor)) return false;
  const actor = value.actor;
  return (
    ['id', 'time', 'stage', 'requestId', 'action', 'appliance', 'schedule'].every((key) => isString(value[key])) &&
    ['subject', 'authMethod', 'ip'].every((key) => isString(actor[key])) &&
    ['name', 'clientId', 'userAgent'].every((key) => isNullable(actor[key], isString)) &&
    ['comment', 'outcome', 'code', 'jobId', 'fleetRequestId', 'requestedId', 'replayOf'].every((key) =>
      isNullable(value[key], isString),
    ) &&
    ['httpStatus', 'durationMs', 'count'].every((key) => isNullable(value[key], isNumber)) &&
    (value.settles === undefined || isSettlement(value.settles)) &&
    (value.outbox === undefined || isDraftOutbox(value.outbox))
  );
}

function isDraftOutbox(value: unknown): boolean {
  if (!isRecord(value) || !Array.isArray(value.messages)) return false;
  const messageKeys = ['id', 'eventId', 'webhook', 'type', 'subject', 'body'];
  const follow = value.follow;
  return (
    value.messages.every((message) => isRecord(message) && messageKeys.every((key) => isString(message[key]))) &&
    (follow === undefined ||
      (isRecord(follow) && ['appliance', 'jobId', 'context'].every((key) => isString(follow[key]))))
  );
}

function isSettlement(value: unknown): boolean {
  if (!isRecord(value) || !['caller', 'key', 'entryId'].every((key) => isString(value[key]))) return false;
  if ('response' in value) {
    const response = value.response;
    return (
      isRecord(response) &&
      isNumber(response.status) &&
      isString(response.body) &&
      isRecord(response.headers) &&
      Object.values(response.headers).every(isString)
    );
  }
  return isString(value.member) && isString(value.memberResult);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

/** Finite numbers only (JSON.parse reads 1e400 as Infinity); `Number.isFinite` is false for every non-number. */
function isNumber(value: unknown): value is number {
  return Number.isFinite(value);
}

function isNullable(value: unknown, is: (inner: unknown) => boolean): boolean {
  return value === undefined || value === null || is(value);
}

/** Best effort: not every platform can fsync a directory. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the file's own fsync still holds its contents
  }
}

import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
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
 * only, as before there was a spool, and its log line says so.
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

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

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
      let found = 0;
      lines.forEach((line, index) => {
        if (line === '') return;
        const draft = parseDraft(line);
        if (draft) {
          this.drafts.push(draft);
          found++;
        } else {
          this.logger.error(
            { spool: this.path, line: index + 1, text: line },
            'audit spool: an unreadable line is skipped',
          );
        }
      });
      return found;
    });
  }

  /** Resolves once the draft is on disk (true), or kept in memory only because the file cannot be written (false). */
  add(draft: AuditDraft): Promise<boolean> {
    this.adding++;
    return this.serialised(async () => {
      const line = `${JSON.stringify(draft)}\n`;
      try {
        const file = await this.opened();
        await file.write(line);
        await file.sync();
        this.bytes += Buffer.byteLength(line);
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
    const value = JSON.parse(line) as Partial<AuditDraft> | null;
    const valid =
      typeof value?.id === 'string' &&
      typeof value.time === 'string' &&
      typeof value.stage === 'string' &&
      typeof value.actor === 'object' &&
      value.actor !== null;
    return valid ? (value as AuditDraft) : undefined;
  } catch {
    return undefined;
  }
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

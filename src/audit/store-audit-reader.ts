import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from '../problems/gateway-error.js';
import { decodeCursor, encodeCursor } from './audit-cursor.js';
import type { AuditFilter, VerifyResult } from './audit-entry.js';
import { type AuditEventsPage, AuditReader } from './audit-reader.js';
import { auditUnavailable } from './audit-unavailable.js';
import type { AuditStore } from './store/audit-store.js';
import { AuditStoreHandle } from './store/audit-store-handle.js';

/** The audit trail's read side (see AuditReader), on the store the recorder opened. */
@Injectable()
export class StoreAuditReader extends AuditReader {
  /** A verification under way: concurrent callers share its walk (and its result). */
  private verifying: Promise<VerifyResult> | undefined;

  constructor(
    private readonly handle: AuditStoreHandle,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  async events(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditEventsPage> {
    const before = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await this.reading((store) => store.query(filter, { limit: limit + 1, before }));
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor({ seq: last.seq, time: last.time }) : null };
  }

  /** Entries appended after the export started are not included. */
  async exportNdjson(filter: AuditFilter): Promise<Readable> {
    // Pages as long as the store builds them best (AuditStore.exportPageSize), each read after the last.
    let size = 0;
    let page = await this.reading((store) => {
      size = store.exportPageSize;
      return store.queryNdjson(filter, { limit: size });
    });
    const { handle, logger } = this;
    async function* pages(): AsyncGenerator<string> {
      for (;;) {
        if (page.count > 0) yield page.ndjson;
        if (page.count < size || page.last === undefined) return;
        const before = page.last;
        try {
          const store = await handle.open();
          if (!store) throw new Error('the audit store is no longer open');
          page = await store.queryNdjson(filter, { limit: size, before });
        } catch (error) {
          // The status line is long gone: the response is cut off, never ended cleanly, so it cannot pass for complete.
          logger.error({ err: error }, 'audit export failed midway; response aborted');
          throw error;
        }
      }
    }
    // Text chunks stay text (encoding): the response writes them to the socket as they are (NdjsonPage).
    return Readable.from(pages(), { objectMode: false, encoding: 'utf8' });
  }

  verify(): Promise<VerifyResult> {
    this.verifying ??= this.reading((store) => store.verify()).finally(() => {
      this.verifying = undefined;
    });
    return this.verifying;
  }

  private async reading<T>(read: (store: AuditStore) => Promise<T>): Promise<T> {
    const store = await this.handle.open();
    if (!store) throw auditUnavailable('The audit store is unavailable.');
    try {
      return await read(store);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      this.logger.error({ err: error }, 'reading the audit store failed');
      throw auditUnavailable('The audit store could not be read.', error);
    }
  }
}

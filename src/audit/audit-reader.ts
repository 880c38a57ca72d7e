import type { Readable } from 'node:stream';
import type { AuditEvent, AuditFilter, VerifyResult } from './audit-entry.js';

export interface AuditEventsPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

/**
 * Reading the audit trail (inject it by this class): GET /audit/events, its NDJSON export and /audit/verify. Every
 * method throws GatewayError AUDIT_UNAVAILABLE when the store cannot be read, and none holds the event loop for more
 * than a page's work at a time, however long the chain.
 */
export abstract class AuditReader {
  /** Newest first. `cursor` is the `nextCursor` of the previous page (keyset: nothing is skipped or repeated). */
  abstract events(filter: AuditFilter, limit: number, cursor?: string): Promise<AuditEventsPage>;
  /**
   * Every matching entry, newest first, one JSON object a line, read page by page as the consumer pulls: memory stays
   * bounded by a page. An unusable store is a 503 before the stream starts, never a stream that ends early.
   */
  abstract exportNdjson(filter: AuditFilter): Promise<Readable>;
  /** Walks the whole chain. */
  abstract verify(): Promise<VerifyResult>;
}

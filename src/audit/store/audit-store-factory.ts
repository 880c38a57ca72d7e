import { resolve } from 'node:path';
import type { AuditConfig } from '../../config/gateway-config.js';
import type { AuditStore } from './audit-store.js';

export interface AuditStoreOptions {
  /** false: verify an existing store without creating or migrating anything (the CLI). */
  migrate?: boolean;
  onPoolError?: (error: Error) => void;
  /**
   * The store on the calling thread only: no SQLite worker thread, no PostgreSQL reader thread. For a process that
   * does nothing else meanwhile (the verify CLI). The gateway never does this: better-sqlite3 would block its event
   * loop, and a PostgreSQL verification would collect its heap over and over.
   */
  sameThread?: boolean;
}

/**
 * The configured store, not yet opened. Only its own driver is loaded (pg for one, better-sqlite3, on its worker
 * thread, for the other): module loading is most of the gateway's start-up time.
 */
export async function createAuditStore(config: AuditConfig, options: AuditStoreOptions = {}): Promise<AuditStore> {
  if (config.store === 'off') throw new Error('audit.store is off: there is no audit store');
  if (config.store === 'postgres') {
    if (!config.postgres) throw new Error('audit.postgres.url is required when audit.store is postgres');
    const { PostgresAuditStore } = await import('./postgres-audit-store.js');
    return new PostgresAuditStore(config.postgres.url, {
      ...options,
      schema: config.postgres.schema,
      readerThread: !options.sameThread,
    });
  }
  if (options.sameThread) {
    const { SqliteAuditStore } = await import('./sqlite-audit-store.js');
    return new SqliteAuditStore(config.sqlite.path, { migrate: options.migrate });
  }
  const { WorkerAuditStore } = await import('./worker-audit-store.js');
  return new WorkerAuditStore({ path: resolve(config.sqlite.path), migrate: options.migrate });
}

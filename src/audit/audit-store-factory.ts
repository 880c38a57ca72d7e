import type { AuditConfig } from '../config/gateway-config.js';
import type { AuditStore } from './audit-store.js';
import { PostgresAuditStore } from './postgres-audit-store.js';
import { SqliteAuditStore } from './sqlite-audit-store.js';

export interface AuditStoreOptions {
  /** false: verify an existing store without creating or migrating anything (the CLI). */
  migrate?: boolean;
  onPoolError?: (error: Error) => void;
}

/** The configured store, not yet opened. */
export function createAuditStore(config: AuditConfig, options: AuditStoreOptions = {}): AuditStore {
  if (config.store === 'off') throw new Error('audit.store is off: there is no audit store');
  if (config.store === 'postgres') {
    if (!config.postgres) throw new Error('audit.postgres.url is required when audit.store is postgres');
    return new PostgresAuditStore(config.postgres.url, { ...options, schema: config.postgres.schema });
  }
  return new SqliteAuditStore(config.sqlite.path, { migrate: options.migrate });
}

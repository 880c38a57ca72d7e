import pino from 'pino';
import { AuditService } from '../../src/audit/audit.service.js';
import type { AuditStore } from '../../src/audit/audit-store.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';

export interface ServiceUnderTest {
  service: AuditService;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
}

/** AuditService as the module builds it, on a given store, with its log lines captured. */
export function auditService(store: AuditStore, audit: Record<string, unknown> = {}): ServiceUnderTest {
  const config = parseConfig(
    {
      auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['audit:read'] }] },
      appliances: [],
      audit,
    },
    {},
  );
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {
    write: (line: string) => void logs.push(JSON.parse(line)),
  } as pino.DestinationStream);
  return { service: new AuditService(store, config, logger), logs };
}

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

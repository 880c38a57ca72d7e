/**
 * The audit trail's parts as AuditModule wires them (handle, recorder, reader, retention), on a given store, outside
 * Nest, with every log line captured. start() and stop() run the lifecycle hooks in the order Nest does.
 */
import { join } from 'node:path';
import pino from 'pino';
import { AuditRetention } from '../../src/audit/audit-retention.js';
import { DurableAuditRecorder, spoolPath } from '../../src/audit/durable-audit-recorder.js';
import type { AuditStore } from '../../src/audit/store/audit-store.js';
import { AuditStoreHandle } from '../../src/audit/store/audit-store-handle.js';
import { StoreAuditReader } from '../../src/audit/store-audit-reader.js';
import { parseConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { GatewayMetrics } from '../../src/metrics/gateway-metrics.js';

export interface AuditTrailUnderTest {
  recorder: DurableAuditRecorder;
  reader: StoreAuditReader;
  retention: AuditRetention;
  /** Where completions wait while the store fails. */
  spoolPath: string;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `dir`: where the spool goes (unless `audit.spoolPath` says otherwise). The retention purge is not started: tests
 * call it.
 */
export function auditTrail(store: AuditStore, dir: string, audit: Record<string, unknown> = {}): AuditTrailUnderTest {
  const config = parseConfig(
    {
      auth: { apiKeys: [{ id: 'ops', sha256: 'a'.repeat(64), scopes: ['audit:read'] }] },
      appliances: [],
      audit: { spoolPath: join(dir, 'audit-spool.ndjson'), ...audit },
    },
    {},
  );
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {
    write: (line: string) => void logs.push(JSON.parse(line)),
  } as pino.DestinationStream);
  const handle = new AuditStoreHandle(store, logger);
  const recorder = new DurableAuditRecorder(handle, config, logger, new GatewayMetrics(config));
  const reader = new StoreAuditReader(handle, logger);
  const retention = new AuditRetention(handle, config, logger);
  return {
    recorder,
    reader,
    retention,
    spoolPath: spoolPath(config.audit),
    logs,
    start: () => recorder.onModuleInit(),
    stop: async () => {
      retention.onApplicationShutdown();
      await recorder.onApplicationShutdown();
    },
  };
}

import { DynamicModule, Module, Provider } from '@nestjs/common';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { AuditController } from './audit.controller.js';
import { OffAuditReader, OffAuditRecorder } from './audit-off.js';
import { AuditReader } from './audit-reader.js';
import { AuditRecorder } from './audit-recorder.js';
import { AuditRetention } from './audit-retention.js';
import { DurableAuditRecorder } from './durable-audit-recorder.js';
import { FleetRunRecords } from './fleet-runs.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { Outbox } from './outbox.js';
import { RateLimitedRuns } from './refused-runs.js';
import { AUDIT_STORE, type AuditStore } from './store/audit-store.js';
import { createAuditStore } from './store/audit-store-factory.js';
import { AuditStoreHandle } from './store/audit-store-handle.js';
import { MemoryFleetRunRecords } from './store/memory-fleet-runs.js';
import { MemoryIdempotencyKeys } from './store/memory-idempotency-keys.js';
import { StoredFleetRunRecords } from './store/stored-fleet-runs.js';
import { StoredIdempotencyKeys } from './store/stored-idempotency-keys.js';
import { StoredOutbox } from './store/stored-outbox.js';
import { StoreAuditReader } from './store-audit-reader.js';

/**
 * The audit trail: AuditRecorder for the run path and /health/ready, AuditReader for GET /audit/events and
 * /audit/verify. Registered once, by AppModule, and global: every module injects the two by their class. Unless the
 * trail is off, AuditStoreHandle is exported too: `await handle.open()` is the store (its idempotency keys), or
 * undefined while it cannot be opened; and the notification Outbox (audit/outbox.ts), which lives in the same database.
 * The store is chosen by `audit.store` and opened as soon as it exists (a failure does not stop the app: runs are
 * refused and readiness fails until it opens); the recorder closes it last at shutdown.
 */
@Module({})
export class AuditModule {
  static register(config: GatewayConfig): DynamicModule {
    const providers: Provider[] =
      config.audit.store === 'off'
        ? [
            { provide: AuditRecorder, useClass: OffAuditRecorder },
            { provide: AuditReader, useClass: OffAuditReader },
            MemoryIdempotencyKeys,
            { provide: IdempotencyKeys, useExisting: MemoryIdempotencyKeys },
            { provide: FleetRunRecords, useClass: MemoryFleetRunRecords },
          ]
        : [
            {
              provide: AUDIT_STORE,
              inject: [PINO_LOGGER],
              useFactory: (logger: Logger) =>
                createAuditStore(config.audit, {
                  onPoolError: (error) =>
                    logger.warn({ err: error }, 'audit store: an idle PostgreSQL connection failed'),
                }),
            },
            {
              provide: AuditStoreHandle,
              inject: [AUDIT_STORE, PINO_LOGGER],
              useFactory: (store: AuditStore, logger: Logger) => {
                const handle = new AuditStoreHandle(store, logger);
                // Opening (the SQLite worker loads its driver and migrates) overlaps the rest of start-up; readiness
                // and the first run wait for it.
                void handle.open();
                return handle;
              },
            },
            { provide: FleetRunRecords, useClass: StoredFleetRunRecords },
            { provide: AuditRecorder, useClass: DurableAuditRecorder },
            { provide: AuditReader, useClass: StoreAuditReader },
            { provide: IdempotencyKeys, useClass: StoredIdempotencyKeys },
            { provide: Outbox, useClass: StoredOutbox },
            AuditRetention,
          ];
    const audit: DynamicModule = {
      module: AuditModule,
      global: true,
      controllers: [AuditController],
      providers: [...providers, RateLimitedRuns],
      exports:
        config.audit.store === 'off'
          ? [AuditRecorder, AuditReader, IdempotencyKeys, RateLimitedRuns]
          : [AuditRecorder, AuditReader, IdempotencyKeys, AuditStoreHandle, RateLimitedRuns, Outbox],
    };

    // The fleet runs (audit/fleet-runs.ts) live in the same database: FleetRunRecords, whichever store holds them.
    audit.exports?.push(FleetRunRecords);
    return audit;
  }
}

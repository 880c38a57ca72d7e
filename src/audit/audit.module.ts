import { DynamicModule, Module, Provider } from '@nestjs/common';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/gateway-config.js';
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
  static async register(config: GatewayConfig, logger: Logger): Promise<DynamicModule> {
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
            { provide: AuditStoreHandle, useValue: await openedAtOnce(config, logger) },
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

/**
 * The configured store, opening from the moment the gateway's modules are declared: before Nest builds them, so that
 * the SQLite worker loads its driver and checks the schema on the other core while this one builds the gateway
 * (started from the provider's factory instead, it was still opening 40–90 ms after the gateway listened, and
 * readiness waited for it). A failure to open does not stop the gateway (AuditStoreHandle).
 */
async function openedAtOnce(config: GatewayConfig, logger: Logger): Promise<AuditStoreHandle> {
  const store = await createAuditStore(config.audit, {
    onPoolError: (error) => logger.warn({ err: error }, 'audit store: an idle PostgreSQL connection failed'),
  });
  const handle = new AuditStoreHandle(store, logger);
  void handle.open();
  return handle;
}

import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { AuditController } from './audit.controller.js';
import { AuditService } from './audit.service.js';
import { AUDIT_STORE } from './audit-store.js';
import { createAuditStore } from './audit-store-factory.js';

/**
 * The audit trail: AuditService for the run path and /health/ready, GET /audit/events and /audit/verify.
 * The store is chosen by `audit.store` and opened by AuditService at module init (a failure does not stop the app).
 */
@Module({
  controllers: [AuditController],
  providers: [
    {
      provide: AUDIT_STORE,
      inject: [GatewayConfig, PINO_LOGGER],
      useFactory: async (config: GatewayConfig, logger: Logger) =>
        config.audit.store === 'off'
          ? null
          : await createAuditStore(config.audit, {
              onPoolError: (error) => logger.warn({ err: error }, 'audit store: an idle PostgreSQL connection failed'),
            }),
    },
    AuditService,
  ],
  exports: [AuditService],
})
export class AuditModule {}

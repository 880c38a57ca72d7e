import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { AppliancesIndicator } from './appliances.indicator.js';
import { AuditStoreIndicator } from './audit-store.indicator.js';
import { HealthController } from './health.controller.js';
import { ShutdownState } from './shutdown-state.js';

/** Liveness and readiness through @nestjs/terminus indicators. The audit trail is global. */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), AppliancesModule],
  controllers: [HealthController],
  providers: [AuditStoreIndicator, AppliancesIndicator, ShutdownState],
  exports: [ShutdownState],
})
export class HealthModule {}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppliancesModule } from '../appliances/appliances.module.js';
import { AppliancesIndicator } from './appliances.indicator.js';
import { AuditStoreIndicator } from './audit-store.indicator.js';
import { HealthController } from './health.controller.js';
import { Readiness } from './readiness.js';
import { ShutdownState } from './shutdown-state.js';

/**
 * Liveness and readiness through @nestjs/terminus indicators; the detailed readiness report goes to the metrics
 * port (GatewayMetrics, global like the audit trail).
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), AppliancesModule],
  controllers: [HealthController],
  providers: [AuditStoreIndicator, AppliancesIndicator, ShutdownState, Readiness],
  exports: [ShutdownState],
})
export class HealthModule {}

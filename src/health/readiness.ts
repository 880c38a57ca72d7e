import { Injectable, type OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { AppliancesIndicator } from './appliances.indicator.js';
import { AuditStoreIndicator } from './audit-store.indicator.js';
import { ShutdownState } from './shutdown-state.js';

export interface ReadinessReport {
  ready: boolean;
  /** Why not, in words safe for anyone (no appliance, no store address). */
  reason?: string;
  /** Every indicator and what it reports, appliance ids included: for operators only. */
  result: HealthCheckResult;
}

/**
 * Whether the replica should get traffic: the audit store answers and it is not shutting down. The full report
 * names every configured appliance and its state, so the public /health/ready answers only the verdict; the report
 * itself is served where only operators reach (the metrics port, see metrics-server.ts), to which it is handed here.
 */
@Injectable()
export class Readiness implements OnModuleInit {
  constructor(
    private readonly health: HealthCheckService,
    private readonly audit: AuditStoreIndicator,
    private readonly appliances: AppliancesIndicator,
    private readonly shutdown: ShutdownState,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    this.metrics.serveReadiness(() => this.report());
  }

  async report(): Promise<ReadinessReport> {
    // The store is being closed: asking it would only slow the probe that takes this replica out of rotation.
    if (this.shutdown.shuttingDown) {
      return {
        ready: false,
        reason: 'The gateway is shutting down.',
        result: { status: 'shutting_down', details: {} },
      };
    }
    try {
      return {
        ready: true,
        result: await this.health.check([() => this.audit.check(), () => this.appliances.check()]),
      };
    } catch (error) {
      // Terminus throws its result when an indicator is down; anything else is an indicator that failed to answer.
      const result =
        error instanceof ServiceUnavailableException ? (error.getResponse() as HealthCheckResult) : undefined;
      return {
        ready: false,
        reason: 'The audit store cannot be used, so runs would be refused.',
        result: result ?? { status: 'error', details: {} },
      };
    }
  }
}

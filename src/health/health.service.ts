import { Injectable } from '@nestjs/common';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';
import { AuditRecorder } from '../audit/audit-recorder.js';
import { GatewayError } from '../problems/gateway-error.js';

/** Readiness checks. Appliances are not among them: one unreachable vCenter must not take the gateway out of rotation. */
@Injectable()
export class HealthService {
  private shuttingDown = false;

  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly audit: AuditRecorder,
  ) {}

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  /** The audit store is a dependency: without it every run is refused, so the replica should leave rotation. */
  async ready(): Promise<{ status: 'ok'; checks: Record<string, string> }> {
    if (this.shuttingDown) throw new GatewayError('SERVICE_UNAVAILABLE', 'The gateway is shutting down.');
    if (!(await this.audit.healthy())) {
      throw new GatewayError('SERVICE_UNAVAILABLE', 'The audit store cannot be used, so runs would be refused.');
    }
    return {
      status: 'ok',
      checks: { config: 'ok', audit: 'ok', appliances: `${this.registry.size} configured` },
    };
  }
}

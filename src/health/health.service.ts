import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '../config/gateway-config.js';
import { GatewayError } from '../problems/gateway-error.js';

/** Readiness checks. Appliances are not among them: one unreachable vCenter must not take the gateway out of rotation. */
@Injectable()
export class HealthService {
  private shuttingDown = false;

  constructor(private readonly config: GatewayConfig) {}

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  ready(): { status: 'ok'; checks: Record<string, string> } {
    if (this.shuttingDown) throw new GatewayError('SERVICE_UNAVAILABLE', 'The gateway is shutting down.');
    return { status: 'ok', checks: { config: 'ok', appliances: `${this.config.appliances.length} configured` } };
  }
}

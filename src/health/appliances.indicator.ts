import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ApplianceRegistry } from '../appliances/appliance-registry.service.js';

/**
 * Each appliance's last known state, for operators reading /health/ready. Always up: one unreachable vCenter must
 * not take the gateway out of rotation (the other appliances still need it). Nothing is called to find out.
 */
@Injectable()
export class AppliancesIndicator {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check() {
    const states = Object.fromEntries(this.registry.all().map((client) => [client.id, client.health.view().status]));
    return this.indicators.check('appliances').up({ configured: this.registry.size, states });
  }
}

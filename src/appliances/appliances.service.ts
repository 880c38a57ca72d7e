import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { GatewayConfig } from '../config/gateway-config.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import type { ApplianceDto } from './dto/appliance.dto.js';
import type { VapiClient } from './vapi-client.js';

/** The fleet as callers see it: identity and live status, never URLs or credentials. */
@Injectable()
export class AppliancesService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
  ) {}

  /**
   * Status comes from the last call to each appliance; where that is older than `fleet.statusMaxAgeMs`
   * (or never happened), a light probe refreshes it, a few appliances at a time and each within
   * `fleet.probeTimeoutMs`, so one dead vCenter cannot stall the list.
   */
  async list(visible: (id: string) => boolean, tag?: string): Promise<ApplianceDto[]> {
    const clients = this.registry
      .all()
      .filter((client) => visible(client.id) && (tag === undefined || client.config.tags.includes(tag)));
    const { statusMaxAgeMs, probeTimeoutMs, concurrency } = this.config.fleet;
    const limit = pLimit(concurrency);
    await Promise.all(
      clients
        .filter((client) => client.health.ageMs() > statusMaxAgeMs)
        .map((client) => limit(() => client.probe(probeTimeoutMs))),
    );
    return clients.map(toDto);
  }
}

function toDto(client: VapiClient): ApplianceDto {
  const { id, name, tags } = client.config;
  return { id, name: name ?? id, tags, ...client.health.view() };
}

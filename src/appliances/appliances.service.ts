import { Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import { GatewayConfig } from '../config/gateway-config.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import { BackupFreshness } from './backup-freshness.service.js';
import type { ApplianceDto } from './dto/appliance.dto.js';

/** The fleet as callers see it: identity and live status, never URLs or credentials. */
@Injectable()
export class AppliancesService {
  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
    private readonly freshness: BackupFreshness,
  ) {}

  /**
   * Status comes from the last call or probe of each appliance. The background probes (FleetStatusSchedule) keep it
   * younger than `fleet.statusMaxAgeMs`, so the list only reads it: a caller never waits for a fleet of probes. With
   * them off (`fleet.backgroundProbes: false`), a status older than that (or none yet) is refreshed here by a light
   * probe, a few appliances at a time and each within `fleet.probeTimeoutMs`, so one dead vCenter cannot stall the list.
   */
  async list(visible: (id: string) => boolean, tag?: string): Promise<ApplianceDto[]> {
    const clients = this.registry
      .all()
      .filter((client) => visible(client.id) && (tag === undefined || client.config.tags.includes(tag)));
    const { statusMaxAgeMs, probeTimeoutMs, concurrency, backgroundProbes } = this.config.fleet;
    if (!backgroundProbes) {
      const limit = pLimit(concurrency);
      await Promise.all(
        clients
          .filter((client) => client.health.ageMs() > statusMaxAgeMs)
          .map((client) => limit(() => client.probe(probeTimeoutMs))),
      );
    }
    const now = Date.now();
    return clients.map((client) => {
      const { id, name, tags } = client.config;
      return { id, name: name ?? id, tags, ...client.health.view(), backup: this.freshness.view(id, now) };
    });
  }
}

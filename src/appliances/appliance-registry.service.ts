import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApplianceConfig, GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayError } from '../problems/gateway-error.js';
import { VapiClient } from './vapi-client.js';

/** The configured appliances and one VapiClient each; logs every session out on shutdown. */
@Injectable()
export class ApplianceRegistry implements OnApplicationShutdown {
  private readonly clients = new Map<string, VapiClient>();
  private readonly configs = new Map<string, ApplianceConfig>();

  constructor(
    config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {
    for (const appliance of config.appliances) {
      this.configs.set(appliance.id, appliance);
      this.clients.set(appliance.id, new VapiClient(appliance, logger));
      if (appliance.tls.insecure) {
        logger.warn(
          { appliance: appliance.id },
          'TLS verification is OFF for this appliance (tls.insecure: true): its identity is not checked; prefer tls.caFile or tls.fingerprint',
        );
      }
    }
  }

  client(id: string): VapiClient {
    const client = this.clients.get(id);
    if (!client)
      throw new GatewayError('APPLIANCE_NOT_FOUND', `No appliance with id ${id} is configured.`, { appliance: id });
    return client;
  }

  list(): ApplianceConfig[] {
    return [...this.configs.values()];
  }

  has(id: string): boolean {
    return this.clients.has(id);
  }

  /** Logs out every open appliance session; vCenter limits them and leaked ones linger until idle timeout. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeAll();
    this.logger.info('appliance sessions closed');
  }
}

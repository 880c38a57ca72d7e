import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApplianceConfig, GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import { VapiClient } from './vapi-client.js';

export interface ReloadResult {
  added: string[];
  removed: string[];
  changed: string[];
}

/**
 * The configured appliances and one VapiClient each, and which one a request addresses. A reload (SIGHUP) swaps
 * clients: requests under way keep the client they started with, which drains and logs out afterwards.
 */
@Injectable()
export class ApplianceRegistry implements OnApplicationShutdown {
  private clients = new Map<string, VapiClient>();
  private defaultAppliance: string | undefined;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    private readonly metrics: GatewayMetrics,
  ) {
    for (const appliance of config.appliances) this.clients.set(appliance.id, this.createClient(appliance));
    this.defaultAppliance = config.defaultAppliance;
  }

  /**
   * The appliance a request addresses: the id it names; else `defaultAppliance`; else the only configured one.
   * The id is not checked against the list here: an unknown one is APPLIANCE_NOT_FOUND when it is used, after the
   * caller's scopes were checked (so a 404 never tells an unauthorised caller which appliances exist).
   */
  resolve(id?: string): string {
    if (id !== undefined) return id;
    if (this.defaultAppliance !== undefined) return this.defaultAppliance;
    if (this.clients.size === 1) return this.clients.keys().next().value as string;
    throw new GatewayError(
      'VALIDATION_FAILED',
      'Name the appliance: add ?appliance={applianceId}, or use /appliances/{applianceId}/..., since no defaultAppliance is configured.',
      { errors: [{ field: 'appliance', message: 'appliance is required when no defaultAppliance is configured' }] },
    );
  }

  /** Ids of the appliances carrying any of `tags`, in configuration order. */
  withAnyTag(tags: readonly string[]): string[] {
    const wanted = new Set(tags);
    return this.all()
      .filter((client) => client.config.tags.some((tag) => wanted.has(tag)))
      .map((client) => client.id);
  }

  get size(): number {
    return this.clients.size;
  }

  client(id: string): VapiClient {
    const client = this.clients.get(id);
    if (!client)
      throw new GatewayError('APPLIANCE_NOT_FOUND', `No appliance with id ${id} is configured.`, { appliance: id });
    return client;
  }

  all(): VapiClient[] {
    return [...this.clients.values()];
  }

  has(id: string): boolean {
    return this.clients.has(id);
  }

  /**
   * Applies a new, already validated configuration's appliance list: new appliances get clients,
   * removed ones are logged out once their in-flight requests end, changed ones (URL, credentials,
   * TLS, timeout) are replaced. Caller-facing settings that depend on the list (defaultAppliance) follow.
   */
  reload(next: GatewayConfig): ReloadResult {
    const result: ReloadResult = { added: [], removed: [], changed: [] };
    const wanted = new Map(next.appliances.map((appliance) => [appliance.id, appliance]));
    const clients = new Map<string, VapiClient>();
    for (const [id, client] of this.clients) {
      const replacement = wanted.get(id);
      if (!replacement) {
        result.removed.push(id);
        this.retire(client);
      } else if (fingerprint(replacement) !== fingerprint(client.config)) {
        result.changed.push(id);
        this.retire(client);
        clients.set(id, this.createClient(replacement));
      } else {
        clients.set(id, client);
      }
    }
    for (const [id, appliance] of wanted) {
      if (!clients.has(id)) {
        result.added.push(id);
        clients.set(id, this.createClient(appliance));
      }
    }
    // Insertion order of the config file, for listings.
    this.clients = new Map(next.appliances.map((appliance) => [appliance.id, clients.get(appliance.id) as VapiClient]));
    this.defaultAppliance = next.defaultAppliance;
    return result;
  }

  /** Logs out every open appliance session; vCenter limits them and leaked ones linger until idle timeout. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close(0)));
    await Promise.all(this.retiring);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.closeAll();
    this.logger.info('appliance sessions closed');
  }

  private createClient(appliance: ApplianceConfig): VapiClient {
    if (appliance.tls.insecure) {
      this.logger.warn(
        { appliance: appliance.id },
        'TLS verification is OFF for this appliance (tls.insecure: true): its identity is not checked; prefer tls.caFile or tls.fingerprint',
      );
    }
    return new VapiClient(appliance, this.logger, this.config.breaker, this.config.limits, this.metrics);
  }

  private retire(client: VapiClient): void {
    const done = client.close().finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}

/** What makes two appliance entries the same connection (credentials compared, never logged). */
function fingerprint(appliance: ApplianceConfig): string {
  const { id, url, username, password, timeoutMs, tls } = appliance;
  return JSON.stringify([id, url, username, password, timeoutMs, tls.caFile, tls.fingerprint, tls.insecure]);
}

import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApplianceConfig, GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { GatewayError } from '../problems/gateway-error.js';
import { fleetHeapWarning } from './fleet-heap.js';
import { VapiClient } from './vapi-client.js';

export interface ReloadResult {
  added: string[];
  removed: string[];
  /** Connection settings changed (URL, credentials, TLS, timeout): a new client, the old one drained and logged out. */
  changed: string[];
  /** Only what callers see changed (name, tags): applied in place, the session and breaker state kept. */
  updated: string[];
  /** Settings outside the appliance list that differ from the running ones: they take effect only after a restart. */
  restartNeeded: string[];
}

/** Appliance fields that only describe it: changing them needs no new connection. */
const DESCRIPTIVE = ['name', 'tags'] as const;

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
    this.warnIfHeapTooSmall();
  }

  /** Said at start and after every reload that changes the list: a fleet too large for the heap dies under load. */
  private warnIfHeapTooSmall(): void {
    const warning = fleetHeapWarning(this.clients.size, this.config.limits);
    if (warning) this.logger.warn({ appliances: this.clients.size }, warning);
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
   * TLS, timeout) are replaced, and a new name or tags apply in place. Caller-facing settings that depend on the
   * list (defaultAppliance) follow. Every other setting that differs is named in the result and in a warning: it
   * is read once at start-up, and a reload that said "applied" while ignoring it would mislead the operator.
   */
  reload(next: GatewayConfig): ReloadResult {
    const result: ReloadResult = { added: [], removed: [], changed: [], updated: [], restartNeeded: [] };
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
        if (DESCRIPTIVE.some((field) => !sameValue(replacement[field], client.config[field]))) {
          result.updated.push(id);
          // Only descriptive fields differ, so the client may keep its logged-in session, breaker and health state;
          // the configuration objects are frozen, hence a new one rather than an edit.
          (client as { config: ApplianceConfig }).config = replacement;
        }
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
    if (result.added.length > 0) this.warnIfHeapTooSmall();
    result.restartNeeded = differingPaths(this.config, next, RELOADED);
    if (result.restartNeeded.length > 0) {
      this.logger.warn(
        { restartNeeded: result.restartNeeded },
        'configuration reload: these settings changed but take effect only after a restart',
      );
    }
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

/**
 * What makes two appliance entries the same connection (credentials compared, never logged): every field but the
 * descriptive ones, so that a field added later replaces the client rather than being ignored by a reload.
 */
function fingerprint(appliance: ApplianceConfig): string {
  const connection: Record<string, unknown> = { ...appliance };
  for (const field of DESCRIPTIVE) delete connection[field];
  return canonical(connection);
}

/** The top-level settings a reload applies; any other difference is reported as needing a restart. */
const RELOADED = new Set(['appliances', 'defaultAppliance']);

/**
 * Dotted paths of the settings that differ, down to the leaves of nested sections (a list counts as one value).
 * Paths only: values may be secrets.
 */
function differingPaths(current: object, next: object, skip: ReadonlySet<string> = new Set(), prefix = ''): string[] {
  const a = current as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((key) => {
    if (skip.has(key) || sameValue(a[key], b[key])) return [];
    const path = `${prefix}${key}`;
    return isSection(a[key]) && isSection(b[key]) ? differingPaths(a[key], b[key], new Set(), `${path}.`) : [path];
  });
}

function isSection(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with keys sorted, so that the order keys were written in a file never reads as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    isSection(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : inner,
  );
}

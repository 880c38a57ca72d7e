import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { Instant } from '../common/instant.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { ApplianceRegistry } from './appliance-registry.service.js';
import type { VapiClient, VapiJobStatus } from './vapi-client.js';

/** Job details read per appliance and refresh, newest first, looking for a success (a run of failures is rare). */
const MAX_JOBS_READ = 20;
/** The first refresh, soon after start: not before, so that start-up and readiness never wait for the fleet. */
const FIRST_REFRESH_MS = 1000;

export interface BackupFreshnessView {
  /** End time of the newest successful backup the appliance reports; null when it reports none. */
  lastSuccessAt: string | null;
  ageSeconds: number | null;
  /** Older than `freshness.maxAgeHours`, or none at all; null until the job list was first read. */
  stale: boolean | null;
  /** When the appliance's job list was last read; null before that. */
  checkedAt: string | null;
}

/**
 * "Which appliance has not been backed up?": each appliance's newest successful backup, read from its own job list
 * (so backups started elsewhere, by VAMI or a schedule, count too), slowly (`freshness.refreshMinutes`), a few
 * appliances at a time, and at once when the gateway itself sees one of its jobs succeed. Exposed on GET /appliances,
 * in the console, and as `backup_gateway_last_successful_backup_timestamp_seconds{appliance}` for alert rules.
 */
@Injectable()
export class BackupFreshness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly lastSuccess = new Map<string, Instant>();
  private readonly checkedAt = new Map<string, Instant>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly registry: ApplianceRegistry,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.freshness.refreshMinutes > 0) this.schedule(FIRST_REFRESH_MS);
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
  }

  /** A job status the gateway read: a success newer than the one known updates the appliance at once. */
  observed(appliance: string, status: VapiJobStatus): void {
    if (status.state !== 'SUCCEEDED' || typeof status.end_time !== 'string') return;
    this.record(appliance, Date.parse(status.end_time));
  }

  view(appliance: string, now = Date.now()): BackupFreshnessView {
    const checked = this.checkedAt.get(appliance);
    const last = this.lastSuccess.get(appliance);
    const ageSeconds = last === undefined ? null : Math.max(0, Math.round((now - last.ms) / 1000));
    const maxAgeSeconds = this.config.freshness.maxAgeHours * 3600;
    const known = checked !== undefined || last !== undefined;
    return {
      lastSuccessAt: last?.toISOString() ?? null,
      ageSeconds,
      stale: known ? ageSeconds === null || ageSeconds > maxAgeSeconds : null,
      checkedAt: checked?.toISOString() ?? null,
    };
  }

  /** Reads every appliance's job list (a few at a time); resolves when all are done. */
  refreshAll(): Promise<void> {
    this.refreshing ??= (async () => {
      const limit = pLimit(this.config.fleet.concurrency);
      await Promise.all(this.registry.all().map((client) => limit(() => this.refresh(client))));
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.refreshAll().finally(() => this.schedule(this.config.freshness.refreshMinutes * 60_000));
    }, delayMs);
    this.timer.unref();
  }

  private async refresh(client: VapiClient): Promise<void> {
    try {
      // Job ids are timestamps (yyyyMMdd-HHmmss-…): newest last in sort order.
      const ids = (await client.listJobs()).sort().reverse().slice(0, MAX_JOBS_READ);
      for (const id of ids) {
        const job = await client.getJob(id);
        if (job.state === 'SUCCEEDED' && typeof job.end_time === 'string') {
          this.record(client.id, Date.parse(job.end_time));
          break;
        }
      }
      this.checkedAt.set(client.id, new Instant(Date.now()));
    } catch (error) {
      // The appliance's own status (GET /appliances) says why; freshness keeps what it knew.
      this.logger.debug({ appliance: client.id, code: (error as { code?: unknown }).code }, 'freshness not read');
    }
  }

  private record(appliance: string, endedAt: number): void {
    if (!Number.isFinite(endedAt) || endedAt <= (this.lastSuccess.get(appliance)?.ms ?? 0)) return;
    this.lastSuccess.set(appliance, new Instant(endedAt));
    this.metrics.lastSuccessfulBackup.set({ appliance }, endedAt / 1000);
  }
}

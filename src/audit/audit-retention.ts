import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import type { PurgeResult } from './store/audit-store.js';
import { AuditStoreHandle } from './store/audit-store-handle.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The daily purge, also run once at start-up: entries older than `audit.retentionDays` (when set; the chain keeps
 * verifying from the oldest kept entry) and the finished notifications as old, and expired idempotency keys (an expired key already counts as absent: this
 * only reclaims the space).
 */
@Injectable()
export class AuditRetention implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handle: AuditStoreHandle,
    private readonly config: GatewayConfig,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purgeAll(), DAY_MS).unref();
    void this.purgeAll();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Public so that operators' tooling and tests can run it; undefined when there is nothing to do or it failed. */
  async purgeExpired(now = new Date()): Promise<PurgeResult | undefined> {
    const days = this.config.audit.retentionDays;
    if (days === undefined) return undefined;
    const store = await this.handle.open();
    if (!store) return undefined;
    const cutoff = new Date(now.getTime() - days * DAY_MS).toISOString();
    try {
      const result = await store.purgeBefore(cutoff);
      // The notifications those entries raised go with them: a delivered or given-up message keeps the entry's actor
      // and comment, which must not outlive the entry.
      const notifications = result.interrupted ? 0 : await store.purgeNotificationsBefore(cutoff);
      this.logger.info(
        { auditPurge: true, retentionDays: days, cutoff, ...result, notificationsDeleted: notifications },
        result.interrupted
          ? 'audit retention purge stopped: the audit store closed (shutdown); the next purge goes on from here'
          : 'audit retention purge',
      );
      return result;
    } catch (error) {
      this.logger.error({ err: error, cutoff }, 'audit retention purge failed; the next one runs in a day');
      return undefined;
    }
  }

  async purgeExpiredIdempotencyKeys(): Promise<number | undefined> {
    const store = await this.handle.open();
    if (!store) return undefined;
    try {
      const deleted = await store.purgeExpiredIdempotencyKeys();
      if (deleted > 0) this.logger.info({ idempotencyKeysPurged: deleted }, 'expired idempotency keys purged');
      return deleted;
    } catch (error) {
      this.logger.error({ err: error }, 'purging expired idempotency keys failed; the next purge runs in a day');
      return undefined;
    }
  }

  private async purgeAll(): Promise<void> {
    await this.purgeExpired();
    await this.purgeExpiredIdempotencyKeys();
  }
}

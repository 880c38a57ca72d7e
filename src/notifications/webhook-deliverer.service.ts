import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { type DeliveryResult, Outbox, type OutboxMessage } from '../audit/outbox.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { WebhookRoutes } from './webhook-routes.js';
import { DELIVERY_TIMEOUT_MS, WebhookSender } from './webhook-sender.js';

/** A message is tried for this long after it was recorded, then given up on (`failed`). */
export const RETRY_WINDOW_MS = 24 * 3600_000;
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 3600_000;
/** A claim outlives an attempt (its timeout) with room to record the result; past it, another replica may try. */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5000;
const CLAIM_BATCH = 32;
const PARALLEL_ATTEMPTS = 8;

/**
 * Delivers the outbox: every interval (and at once when a job's end was recorded here), it claims the messages due,
 * POSTs each to its webhook, and records the attempt. A non-2xx or no answer in 10 s is retried with exponential
 * backoff and full jitter (1 s doubling up to 1 h) until the message is 24 h old. Every replica runs one; the claim
 * (audit/outbox.ts) gives each message to one of them, and a replica that dies with a claim leaves it to the others
 * once its lease ends: delivered at least once, with the same `webhook-id` every time.
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly sender = new WebhookSender();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private again = false;

  constructor(
    private readonly routes: WebhookRoutes,
    private readonly config: GatewayConfig,
    private readonly metrics: GatewayMetrics,
    @Inject(PINO_LOGGER) private readonly logger: Logger,
    @Optional() private readonly outbox?: Outbox,
  ) {}

  onApplicationBootstrap(): void {
    if (this.routes.enabled && this.outbox) this.schedule(0);
  }

  /** Before the audit store closes: the attempts under way are recorded, no new one starts. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.sender.close().catch(() => undefined);
  }

  /** Something was recorded: look at the outbox now rather than at the next interval. */
  kick(): void {
    if (this.stopped || !this.outbox) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        const more = this.again;
        this.again = false;
        this.schedule(more ? 0 : this.config.jobs.pollIntervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const outbox = this.outbox;
    if (!outbox) return;
    try {
      const claimed = await outbox.claim(this.owner, CLAIM_BATCH, LEASE_MS);
      const limit = pLimit(PARALLEL_ATTEMPTS);
      await Promise.all(claimed.map((message) => limit(() => this.attempt(outbox, message))));
      if (claimed.length === CLAIM_BATCH) this.again = true;
      await this.measure(outbox);
    } catch (error) {
      this.logger.warn({ err: error }, 'notifications: the outbox cannot be read now; trying again');
    }
  }

  private async attempt(outbox: Outbox, message: OutboxMessage): Promise<void> {
    const webhook = this.routes.webhook(message.webhook);
    let result: DeliveryResult;
    if (!webhook) {
      result = { outcome: 'failed', status: null, error: 'the webhook is no longer configured' };
    } else {
      const attempt = await this.sender.send(webhook.url, webhook.secret, message);
      result = attempt.ok
        ? { outcome: 'delivered', status: attempt.status }
        : {
            outcome: 'retry',
            status: attempt.status,
            error: attempt.error,
            retryInMs: backoff(message.attempts),
            windowMs: RETRY_WINDOW_MS,
          };
      if (!attempt.ok) this.metrics.notificationFailures.inc({ webhook: message.webhook });
    }
    const settled = await outbox.settle(message.id, this.owner, result).catch((error: unknown) => {
      this.logger.warn({ err: error, webhookId: message.id }, 'notifications: an attempt could not be recorded');
      return false;
    });
    const label = result.outcome === 'retry' && !settled ? 'retry' : result.outcome;
    this.metrics.notificationAttempts.inc({ webhook: webhook ? message.webhook : 'not_configured', result: label });
    if (result.outcome !== 'delivered') {
      this.logger.warn(
        {
          webhook: message.webhook,
          webhookId: message.id,
          type: message.type,
          status: result.status,
          error: result.error,
        },
        result.outcome === 'failed' ? 'notification given up on' : 'notification not delivered; retried later',
      );
    }
  }

  private async measure(outbox: Outbox): Promise<void> {
    const stats = await outbox.stats();
    this.metrics.notificationBacklog.set(stats.pending);
    const age = stats.oldestPendingAt === null ? 0 : (Date.parse(stats.now) - Date.parse(stats.oldestPendingAt)) / 1000;
    this.metrics.notificationOldestPendingAge.set(Math.max(0, age));
  }
}

/** Exponential, with full jitter in its upper half, so that receivers coming back are not hit by every replica at once. */
export function backoff(attemptsBefore: number): number {
  const ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attemptsBefore, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

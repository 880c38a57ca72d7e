import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { type DeliveryResult, Outbox, type OutboxMessage, type OutboxState } from '../audit/outbox.js';
import { GatewayConfig } from '../config/gateway-config.js';
import { PINO_LOGGER } from '../logging/logger.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { WebhookRoutes } from './webhook-routes.js';
import { DELIVERY_TIMEOUT_MS, WebhookSender } from './webhook-sender.js';

/** A message is tried for this long after it was recorded, then given up on (`failed`). */
export const RETRY_WINDOW_MS = 24 * 3600_000;
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 3600_000;
/**
 * A claim outlives an attempt (its timeout) with room to record the result; past it, another replica may try. That
 * holds because an attempt starts as soon as its message is claimed: a replica claims no more messages than it has
 * attempts free (tick), so none waits its turn while its lease runs out.
 */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5000;
const PARALLEL_ATTEMPTS = 8;
/**
 * Attempts one webhook may have under way at once, of the PARALLEL_ATTEMPTS: a receiver that hangs (10 s an attempt)
 * with a backlog would otherwise take every attempt, its retries always due first, and hold back every other
 * webhook's messages for as long as it hangs.
 */
const ATTEMPTS_PER_WEBHOOK = PARALLEL_ATTEMPTS / 2;
/** At shutdown, sends still unanswered are cut this long before the grace period ends, to let their messages go. */
const RELEASE_MS = 1000;

/**
 * Delivers the outbox: every interval (at once when a job's end was recorded here, and as attempts end while more is
 * due), it claims the messages due, as many as it can start, POSTs each to its webhook, and records the attempt. A
 * non-2xx or no answer in 10 s is retried with exponential backoff and full jitter (1 s doubling up to 1 h) until the
 * message is 24 h old. Every replica runs one; the claim (audit/outbox.ts) gives each message to one of them, and a
 * replica that dies with a claim leaves it to the others once its lease ends: delivered at least once, with the same
 * `webhook-id` every time.
 */
@Injectable()
export class WebhookDeliverer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly sender = new WebhookSender();
  /** The attempts under way, each started when its message was claimed. */
  private readonly inFlight = new Set<Promise<void>>();
  /** How many of them each webhook has. */
  private readonly perWebhook = new Map<string, number>();
  /** Aborted near the end of the shutdown's grace period: the sends still waiting for an answer are cut. */
  private readonly cut = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private again = false;
  /** The last claim got all it asked for: more may be due, so an attempt ending claims again. */
  private backlog = false;

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

  /**
   * Before the audit store closes: no attempt starts any more; the ones under way have until shortly before the grace
   * period ends to be answered and recorded, then they are cut and their messages let go, for another replica to take
   * at once (the receiver may have had them: at least once).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A claim under way lets go of what it gets (tick).
    await this.running;
    const grace = setTimeout(() => this.cut.abort(), Math.max(0, this.config.shutdownGraceMs - RELEASE_MS));
    await Promise.allSettled([...this.inFlight]);
    clearTimeout(grace);
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
      // No more than can start now: a claimed message waiting for a free attempt would outlive its lease, and another
      // replica would send it too.
      const free = PARALLEL_ATTEMPTS - this.inFlight.size;
      if (free > 0) {
        // Webhooks with all the attempts one may have are left out of the claim, so it reaches the others' messages.
        const full = [...this.perWebhook].filter(([, count]) => count >= ATTEMPTS_PER_WEBHOOK).map(([id]) => id);
        const claimed = await outbox.claim(this.owner, free, LEASE_MS, full);
        if (this.stopped) {
          // The shutdown began during the claim: none of these starts here.
          await this.release(outbox, claimed);
          return;
        }
        // One claim may bring more of one webhook than it may try at once: those go back, for the next claim (which
        // leaves that webhook out) or another replica.
        const over: OutboxMessage[] = [];
        for (const message of claimed) {
          if ((this.perWebhook.get(message.webhook) ?? 0) < ATTEMPTS_PER_WEBHOOK) this.start(outbox, message);
          else over.push(message);
        }
        await this.release(outbox, over);
        this.backlog = claimed.length === free;
      }
      await this.measure(outbox);
    } catch (error) {
      this.logger.warn({ err: error }, 'notifications: the outbox cannot be read now; trying again');
    }
  }

  private start(outbox: Outbox, message: OutboxMessage): void {
    const { webhook } = message;
    this.perWebhook.set(webhook, (this.perWebhook.get(webhook) ?? 0) + 1);
    const attempt = this.attempt(outbox, message)
      .catch((error: unknown) => {
        this.logger.warn({ err: error, webhookId: message.id }, 'notifications: an attempt failed unexpectedly');
      })
      .finally(() => {
        this.inFlight.delete(attempt);
        const left = (this.perWebhook.get(webhook) ?? 1) - 1;
        if (left > 0) this.perWebhook.set(webhook, left);
        else this.perWebhook.delete(webhook);
        if (this.backlog) this.kick();
      });
    this.inFlight.add(attempt);
  }

  private async attempt(outbox: Outbox, message: OutboxMessage): Promise<void> {
    const webhook = this.routes.webhook(message.webhook);
    let result: DeliveryResult;
    if (!webhook) {
      // Not in this replica's configuration, maybe in another's (a webhook added by a rolling change): left to a
      // replica that knows it, tried again like any failure; only the end of its window gives it up.
      result = {
        outcome: 'retry',
        status: null,
        error: 'the webhook is not configured on this replica',
        retryInMs: backoff(message.attempts),
        windowMs: RETRY_WINDOW_MS,
      };
    } else {
      const attempt = await this.sender.send(webhook.url, webhook.secret, message, this.cut.signal);
      if (!attempt.ok && this.cut.signal.aborted) {
        // Cut by the shutdown, not answered by the receiver: not an attempt to count against the message.
        await this.release(outbox, [message]);
        return;
      }
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
    const state = await outbox.settle(message.id, this.owner, result).catch((error: unknown) => {
      this.logger.warn({ err: error, webhookId: message.id }, 'notifications: an attempt could not be recorded');
      return null;
    });
    // What the database made of it: a retry due after the message's window is a message given up on. Not recorded
    // (no longer held, or the store failed), the attempt is counted as it went.
    const outcome = state === null ? result.outcome : OUTCOME_OF[state];
    this.metrics.notificationAttempts.inc({ webhook: webhook ? message.webhook : 'not_configured', result: outcome });
    if (result.outcome !== 'delivered') {
      this.logger.warn(
        {
          webhook: message.webhook,
          webhookId: message.id,
          type: message.type,
          status: result.status,
          error: result.error,
        },
        outcome === 'failed' ? 'notification given up on' : 'notification not delivered; retried later',
      );
    }
  }

  /** Lets claimed messages go: any replica may claim them at once. */
  private async release(outbox: Outbox, messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await outbox
      .release(
        this.owner,
        messages.map((message) => message.id),
      )
      .catch((error: unknown) => {
        // Then their leases run out, and another replica takes them a little later.
        this.logger.warn({ err: error }, 'notifications: claimed messages could not be let go; their leases will end');
      });
  }

  private async measure(outbox: Outbox): Promise<void> {
    const stats = await outbox.stats();
    this.metrics.notificationBacklog.set(stats.pending);
    const age = stats.oldestPendingAt === null ? 0 : (Date.parse(stats.now) - Date.parse(stats.oldestPendingAt)) / 1000;
    this.metrics.notificationOldestPendingAge.set(Math.max(0, age));
  }
}

/** The attempt's `result` label, from the state the message is in after it. */
const OUTCOME_OF: Record<OutboxState, DeliveryResult['outcome']> = {
  pending: 'retry',
  delivered: 'delivered',
  failed: 'failed',
};

/** Exponential, with full jitter in its upper half, so that receivers coming back are not hit by every replica at once. */
export function backoff(attemptsBefore: number): number {
  const ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attemptsBefore, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

// With its extension: the pure tests import this file under Node's resolution too.
import type { components } from '../api/api-types.js';

export type Delivery = components['schemas']['DeliveryDto'];

/** A list read up to a cap: `complete` false when more rows were left unread (counts are then "at least"). */
export interface DeliveryList {
  items: Delivery[];
  complete: boolean;
}

/** Where one webhook stands, from its undelivered messages. */
export interface WebhookHealth {
  webhook: string;
  /** Waiting for an attempt (first or next). */
  pending: number;
  /** Of those, already tried and refused or unanswered: the endpoint is failing now. */
  retrying: number;
  /** Given up on after 24 h of retries. */
  failed: number;
  /** False when a count is a lower bound (the lists were read up to a cap). */
  complete: boolean;
  /** The newest message's error, with the receiver's status when it answered. */
  lastError: { text: string; status: number | null; createdAt: string } | null;
  oldestPendingAt: string | null;
}

/**
 * Per webhook id, from the pending and failed deliveries (the API lists messages, not endpoints; a webhook with
 * nothing undelivered does not appear: it is delivering). Failing webhooks first (retrying, then given up), then
 * the one whose oldest message has waited longest: the on-call question is which endpoint is not taking messages.
 */
export function webhookHealth(pending: DeliveryList, failed: DeliveryList): WebhookHealth[] {
  const byId = new Map<string, WebhookHealth>();
  const of = (webhook: string) => {
    let health = byId.get(webhook);
    if (!health) {
      health = { webhook, pending: 0, retrying: 0, failed: 0, complete: true, lastError: null, oldestPendingAt: null };
      byId.set(webhook, health);
    }
    return health;
  };
  for (const item of pending.items) {
    const health = of(item.webhook);
    health.pending++;
    if (item.attempts > 0) health.retrying++;
    if (health.oldestPendingAt === null || item.createdAt < health.oldestPendingAt)
      health.oldestPendingAt = item.createdAt;
  }
  for (const item of failed.items) of(item.webhook).failed++;
  for (const item of [...pending.items, ...failed.items]) {
    const health = of(item.webhook);
    if (item.lastError !== null && (health.lastError === null || item.createdAt > health.lastError.createdAt))
      health.lastError = { text: item.lastError, status: item.lastStatus, createdAt: item.createdAt };
  }
  const all = [...byId.values()];
  if (!pending.complete || !failed.complete) for (const health of all) health.complete = false;
  const rank = (h: WebhookHealth) => (h.retrying > 0 ? 0 : h.failed > 0 ? 1 : 2);
  return all.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.oldestPendingAt ?? '\uffff').localeCompare(b.oldestPendingAt ?? '\uffff') ||
      a.webhook.localeCompare(b.webhook),
  );
}

/** The deliveries an operator acts on: given up on, or tried and not yet delivered; newest first. */
export function failingDeliveries(pending: DeliveryList, failed: DeliveryList): Delivery[] {
  return [...pending.items.filter((item) => item.attempts > 0), ...failed.items].sort(
    (a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id),
  );
}

const EVENT_WORDS: Record<string, string> = {
  'com.backupgateway.run.accepted': 'Run accepted',
  'com.backupgateway.job.succeeded': 'Job succeeded',
  'com.backupgateway.job.failed': 'Job failed',
  'com.backupgateway.fleet-run.completed': 'Fleet run completed',
};

/** "Job failed"; a type this console does not know yet as it is. */
export function eventWords(type: string): string {
  return EVENT_WORDS[type] ?? type;
}

/** A fleet run's event names the fleet run, not an appliance. */
export function namesAppliance(type: string): boolean {
  return type !== 'com.backupgateway.fleet-run.completed';
}

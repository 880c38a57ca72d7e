/**
 * The notification outbox, kept in the audit database: messages for webhooks, written in the same transaction as what
 * they announce (a run's `completed` entry, or a job's end), and delivered afterwards, at least once, by whichever
 * replica claims them. The jobs whose end is awaited live beside them, so that a restart (or another replica) follows
 * them on. notifications/ decides what to send; this is only where it waits, and who holds it.
 */
import type { AuditDraft } from './audit-entry.js';

/** One message for one webhook, as written; its id is the `webhook-id` every attempt carries. */
export interface OutboxMessageDraft {
  /** `msg_…`, derived from the event and the webhook: writing the same message twice stores it once. */
  id: string;
  /** The CloudEvent's id (one event goes to several webhooks). */
  eventId: string;
  webhook: string;
  type: string;
  /** The appliance. */
  subject: string;
  /** The CloudEvent as JSON text, sent as it is on every attempt. */
  body: string;
}

/** A job whose end is awaited: `context` is what its end event repeats (JSON text, from the accepted event). */
export interface FollowedJobDraft {
  appliance: string;
  jobId: string;
  context: string;
}

/** What commits with a `completed` entry besides it (never hashed or stored with the entry). */
export interface DraftOutbox {
  messages: OutboxMessageDraft[];
  follow?: FollowedJobDraft;
}

export const OUTBOX_STATES = ['pending', 'delivered', 'failed'] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/** A message as stored. Times are ISO 8601 UTC from the database's clock. */
export interface OutboxMessage extends OutboxMessageDraft {
  state: OutboxState;
  createdAt: string;
  nextAttemptAt: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface FollowedJob extends FollowedJobDraft {
  createdAt: string;
}

/** How one attempt ended: delivered, to be tried again after a delay, or given up on (its 24 h are over). */
export type DeliveryResult =
  | { outcome: 'delivered'; status: number }
  | {
      outcome: 'retry';
      status: number | null;
      error: string;
      retryInMs: number;
      /** How long after its creation a message is tried: a retry due later makes it `failed`. */
      windowMs: number;
    }
  | { outcome: 'failed'; status: number | null; error: string };

export interface OutboxFilter {
  state?: OutboxState;
  webhook?: string;
}

/** Keyset cursor of the deliveries list (newest first): the last row's creation time and id. */
export interface OutboxCursor {
  createdAt: string;
  id: string;
}

export interface OutboxStats {
  pending: number;
  /** Creation time of the oldest pending message, or null when none waits. */
  oldestPendingAt: string | null;
  /** The database's time now, to measure that age against the same clock. */
  now: string;
}

/** The outbox's statements, as the stores implement them (through the SQLite worker too). */
export interface OutboxStore {
  /** Writes the messages (those already stored are left as they are) and, in the same transaction, stops following `unfollow`. */
  enqueueNotifications(messages: OutboxMessageDraft[], unfollow?: { appliance: string; jobId: string }): Promise<void>;
  /**
   * Pending messages due now that no live lease holds, leased to `owner` for `leaseMs`: of replicas claiming at once,
   * each message goes to one (PostgreSQL: FOR UPDATE SKIP LOCKED). None for the webhooks in `skip` (those the caller
   * already tries as many messages of as it allows one webhook).
   */
  claimNotifications(owner: string, limit: number, leaseMs: number, skip?: readonly string[]): Promise<OutboxMessage[]>;
  /**
   * Records an attempt of a message this owner holds: the state it is in now (a retry past the message's window is
   * `failed`), or null when this owner no longer holds it.
   */
  settleNotification(id: string, owner: string, result: DeliveryResult): Promise<OutboxState | null>;
  /** Lets go of messages this owner claimed but will not try (it is stopping): any replica may claim them at once. */
  releaseNotifications(owner: string, ids: string[]): Promise<void>;
  /**
   * Deletes finished messages (delivered, or given up on) created before `cutoff` (ISO 8601, the audit trail's
   * retention cutoff), in small transactions; resolves with how many. Pending ones are left to their window.
   */
  purgeNotificationsBefore(cutoff: string): Promise<number>;
  listNotifications(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]>;
  notificationStats(): Promise<OutboxStats>;
  /** Followed jobs due for a poll that no live lease holds, leased to `owner` for `leaseMs`. */
  claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]>;
}

/**
 * The outbox as the rest of the gateway uses it (inject it by this class; absent with `audit.store: off`). A store
 * that cannot be opened is an error: the caller tries again on its next turn.
 */
export abstract class Outbox {
  abstract enqueue(messages: OutboxMessageDraft[], unfollow?: { appliance: string; jobId: string }): Promise<void>;
  abstract claim(owner: string, limit: number, leaseMs: number, skip?: readonly string[]): Promise<OutboxMessage[]>;
  abstract settle(id: string, owner: string, result: DeliveryResult): Promise<OutboxState | null>;
  abstract release(owner: string, ids: string[]): Promise<void>;
  abstract list(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]>;
  abstract stats(): Promise<OutboxStats>;
  abstract claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]>;
}

/**
 * What a `completed` entry raises besides itself (notifications/ provides it): decided when the draft is built, so
 * that the messages commit with the entry, and go through the spool with it when the store is down.
 */
export abstract class OutboxRouter {
  abstract forCompleted(draft: AuditDraft): DraftOutbox | undefined;
}

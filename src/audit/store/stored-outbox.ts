import { Injectable } from '@nestjs/common';
import {
  type DeliveryResult,
  type FollowedJob,
  Outbox,
  type OutboxCursor,
  type OutboxFilter,
  type OutboxMessage,
  type OutboxMessageDraft,
  type OutboxState,
  type OutboxStats,
} from '../outbox.js';
import type { AuditStore } from './audit-store.js';
import { AuditStoreHandle } from './audit-store-handle.js';

/** The outbox in the audit database (SQLite, or the PostgreSQL every replica shares). */
@Injectable()
export class StoredOutbox extends Outbox {
  constructor(private readonly handle: AuditStoreHandle) {
    super();
  }

  async enqueue(messages: OutboxMessageDraft[], unfollow?: { appliance: string; jobId: string }): Promise<void> {
    await (await this.store()).enqueueNotifications(messages, unfollow);
  }

  async claim(owner: string, limit: number, leaseMs: number, skip?: readonly string[]): Promise<OutboxMessage[]> {
    return (await this.store()).claimNotifications(owner, limit, leaseMs, skip);
  }

  async settle(id: string, owner: string, result: DeliveryResult): Promise<OutboxState | null> {
    return (await this.store()).settleNotification(id, owner, result);
  }

  async release(owner: string, ids: string[]): Promise<void> {
    await (await this.store()).releaseNotifications(owner, ids);
  }

  async list(filter: OutboxFilter, page: { limit: number; before?: OutboxCursor }): Promise<OutboxMessage[]> {
    return (await this.store()).listNotifications(filter, page);
  }

  async stats(): Promise<OutboxStats> {
    return (await this.store()).notificationStats();
  }

  async claimFollowedJobs(owner: string, limit: number, leaseMs: number): Promise<FollowedJob[]> {
    return (await this.store()).claimFollowedJobs(owner, limit, leaseMs);
  }

  private async store(): Promise<AuditStore> {
    const store = await this.handle.open();
    if (!store) throw new Error('the audit store holding the notification outbox is not open');
    return store;
  }
}

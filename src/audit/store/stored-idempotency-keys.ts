import { Injectable } from '@nestjs/common';
import { auditUnavailable } from '../audit-unavailable.js';
import { type ClaimRequest, type IdempotencyClaim, IdempotencyKeys, type KeySettlement } from '../idempotency-keys.js';
import { AuditStoreHandle } from './audit-store-handle.js';

const UNAVAILABLE = 'The audit store holding Idempotency-Keys is unavailable; nothing was sent.';

/**
 * Idempotency keys in the audit database: shared by every replica on one PostgreSQL, kept across restarts. A claim the
 * store cannot take (closed, unreachable, failing) is AUDIT_UNAVAILABLE (503, nothing sent), never a raw driver error.
 */
@Injectable()
export class StoredIdempotencyKeys extends IdempotencyKeys {
  constructor(private readonly handle: AuditStoreHandle) {
    super();
  }

  async claim(claim: ClaimRequest): Promise<IdempotencyClaim> {
    const store = await this.store();
    try {
      return await store.claimIdempotencyKey(claim);
    } catch (error) {
      throw auditUnavailable(UNAVAILABLE, error);
    }
  }

  async complete(settlement: KeySettlement): Promise<void> {
    await (await this.store()).completeIdempotencyKey(settlement);
  }

  async release(caller: string, key: string, owner: string): Promise<void> {
    await (await this.store()).releaseIdempotencyKey(caller, key, owner);
  }

  async renew(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.store()).renewIdempotencyKey(caller, key, owner, leaseMs);
  }

  private async store() {
    const store = await this.handle.open();
    if (!store) throw auditUnavailable(UNAVAILABLE);
    return store;
  }
}

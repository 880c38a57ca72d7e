import { Injectable } from '@nestjs/common';
import { AuditStoreHandle } from './audit-store-handle.js';
import { auditUnavailable } from './audit-unavailable.js';
import { type IdempotencyClaim, IdempotencyKeys, type StoredResponse } from './idempotency-keys.js';

/** Idempotency keys in the audit database: shared by every replica on one PostgreSQL, kept across restarts. */
@Injectable()
export class StoredIdempotencyKeys extends IdempotencyKeys {
  constructor(private readonly handle: AuditStoreHandle) {
    super();
  }

  async claim(caller: string, key: string, fingerprint: string, expiresAt: Date): Promise<IdempotencyClaim> {
    return (await this.store()).claimIdempotencyKey(caller, key, fingerprint, expiresAt);
  }

  async complete(caller: string, key: string, response: StoredResponse, entryId: string): Promise<void> {
    await (await this.store()).completeIdempotencyKey(caller, key, response, entryId);
  }

  async release(caller: string, key: string): Promise<void> {
    await (await this.store()).releaseIdempotencyKey(caller, key);
  }

  private async store() {
    const store = await this.handle.open();
    if (!store) throw auditUnavailable('The audit store holding Idempotency-Keys is unavailable; nothing was sent.');
    return store;
  }
}

import { Injectable } from '@nestjs/common';
import { AuditRecorder } from '../audit-recorder.js';
import { auditUnavailable } from '../audit-unavailable.js';
import { type ClaimRequest, type IdempotencyClaim, IdempotencyKeys, type KeySettlement } from '../idempotency-keys.js';
import { AuditStoreHandle } from './audit-store-handle.js';

const UNAVAILABLE = 'The audit store holding Idempotency-Keys is unavailable; nothing was sent.';

/**
 * Idempotency keys in the audit database: shared by every replica on one PostgreSQL, kept across restarts. A claim the
 * store cannot take (closed, unreachable, failing) is AUDIT_UNAVAILABLE (503, nothing sent), never a raw driver error.
 *
 * A key whose answer waits in this process's audit spool (the store was down or slow when the entry recording it was
 * written) is not in the store yet: until the spool has written it, a retry is told the request is in progress, and
 * the key is not released (its claim lapses with its lease instead). Otherwise a released or taken-over key would lose
 * that answer, and the retry would send the run again. Another replica cannot see this spool: there the lease is what
 * holds the key meanwhile.
 */
@Injectable()
export class StoredIdempotencyKeys extends IdempotencyKeys {
  constructor(
    private readonly handle: AuditStoreHandle,
    private readonly recorder: AuditRecorder,
  ) {
    super();
  }

  async claim(claim: ClaimRequest): Promise<IdempotencyClaim> {
    if (this.recorder.settlementWaiting(claim.caller, claim.key)) return { state: 'in_progress' };
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
    if (this.recorder.settlementWaiting(caller, key)) return;
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

import { Injectable } from '@nestjs/common';
import {
  type ClaimRequest,
  type IdempotencyClaim,
  IdempotencyKeys,
  type KeySettlement,
  type StoredMember,
  type StoredResponse,
} from '../idempotency-keys.js';

interface Held {
  fingerprint: string;
  expiresAt: number;
  owner: string | undefined;
  leaseUntil: number;
  members: Record<string, StoredMember>;
  answer?: { response: StoredResponse; entryId: string };
}

/** Beyond this many keys the oldest are forgotten (only with the audit trail off: benchmarks and labs). */
const MAX_KEYS = 100_000;

/**
 * `audit.store: off`: keys live in this process only (no restart, no replica shares them), with the same rules as the
 * database's table: expiry, an owner and a lease, final fleet members kept across a release.
 */
@Injectable()
export class MemoryIdempotencyKeys extends IdempotencyKeys {
  private readonly keys = new Map<string, Held>();

  async claim({ caller, key, fingerprint, owner, ttlMs, leaseMs }: ClaimRequest): Promise<IdempotencyClaim> {
    const id = idOf(caller, key);
    const now = Date.now();
    const held = this.keys.get(id);
    if (held && held.expiresAt > now) {
      if (held.fingerprint !== fingerprint) return { state: 'mismatch' };
      if (held.answer) return { state: 'done', ...held.answer };
      if (held.owner !== undefined && held.leaseUntil > now) return { state: 'in_progress' };
      held.owner = owner;
      held.leaseUntil = now + leaseMs;
      return { state: 'claimed', members: { ...held.members } };
    }
    if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(id, { fingerprint, expiresAt: now + ttlMs, owner, leaseUntil: now + leaseMs, members: {} });
    return { state: 'claimed', members: {} };
  }

  async complete(settlement: KeySettlement): Promise<void> {
    const held = this.keys.get(idOf(settlement.caller, settlement.key));
    if (!held || held.answer) return;
    if ('response' in settlement) {
      held.answer = { response: settlement.response, entryId: settlement.entryId };
      held.owner = undefined;
    } else {
      held.members[settlement.member] = { result: settlement.memberResult, entryId: settlement.entryId };
    }
  }

  async release(caller: string, key: string, owner: string): Promise<void> {
    const id = idOf(caller, key);
    const held = this.keys.get(id);
    if (!held || held.answer || held.owner !== owner) return;
    if (Object.keys(held.members).length === 0) this.keys.delete(id);
    else held.owner = undefined;
  }

  async renew(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean> {
    const held = this.keys.get(idOf(caller, key));
    if (!held || held.answer || held.owner !== owner || held.expiresAt <= Date.now()) return false;
    held.leaseUntil = Date.now() + leaseMs;
    return true;
  }
}

function idOf(caller: string, key: string): string {
  return `${caller}\u0000${key}`;
}

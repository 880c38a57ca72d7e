import { Injectable } from '@nestjs/common';
import { type IdempotencyClaim, IdempotencyKeys, type StoredResponse } from './idempotency-keys.js';

interface Held {
  fingerprint: string;
  expiresAt: number;
  answer?: { response: StoredResponse; entryId: string };
}

/** Beyond this many keys the oldest are forgotten (only with the audit trail off: benchmarks and labs). */
const MAX_KEYS = 100_000;

/** `audit.store: off`: keys live in this process only (no restart, no replica shares them). */
@Injectable()
export class MemoryIdempotencyKeys extends IdempotencyKeys {
  private readonly keys = new Map<string, Held>();

  async claim(caller: string, key: string, fingerprint: string, expiresAt: Date): Promise<IdempotencyClaim> {
    const id = `${caller}\u0000${key}`;
    const held = this.keys.get(id);
    if (held && held.expiresAt > Date.now()) {
      if (held.fingerprint !== fingerprint) return { state: 'mismatch' };
      return held.answer ? { state: 'done', ...held.answer } : { state: 'in_progress' };
    }
    if (this.keys.size >= MAX_KEYS) this.keys.delete(this.keys.keys().next().value as string);
    this.keys.set(id, { fingerprint, expiresAt: expiresAt.getTime() });
    return { state: 'claimed' };
  }

  async complete(caller: string, key: string, response: StoredResponse, entryId: string): Promise<void> {
    const held = this.keys.get(`${caller}\u0000${key}`);
    if (held) held.answer = { response, entryId };
  }

  async release(caller: string, key: string): Promise<void> {
    const id = `${caller}\u0000${key}`;
    if (!this.keys.get(id)?.answer) this.keys.delete(id);
  }
}

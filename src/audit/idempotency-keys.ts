/**
 * Idempotency-Key bookkeeping, kept in the audit database so that every replica sharing a PostgreSQL store sees the
 * same keys. A key belongs to a caller: the same key sent by two callers is two keys.
 */

/** The answer a first request got, replayed to its retries. */
export interface StoredResponse {
  status: number;
  /** The few headers worth replaying (Location, Content-Type...), lower-case names. */
  headers: Record<string, string>;
  /** The body as JSON text. */
  body: string;
}

/**
 * - `claimed`: the key was free (or only held by an expired row): the caller runs the request, then completes or
 *   releases the key.
 * - `in_progress`: another request with this key is running (or died without releasing it; it expires).
 * - `done`: answered before, with `response`; `entryId` is the audit entry that recorded the original.
 * - `mismatch`: the key was used with a different request (its fingerprint differs).
 */
export type IdempotencyClaim =
  | { state: 'claimed' }
  | { state: 'in_progress' }
  | { state: 'done'; response: StoredResponse; entryId: string }
  | { state: 'mismatch' };

export interface IdempotencyKeyStore {
  /** Atomic, also across replicas: of several claims racing for one key, exactly one gets `claimed`. */
  claimIdempotencyKey(caller: string, key: string, fingerprint: string, expiresAt: Date): Promise<IdempotencyClaim>;
  /** Records the answer of a claimed key. False when there is no claim in progress to complete (released, expired). */
  completeIdempotencyKey(caller: string, key: string, response: StoredResponse, entryId: string): Promise<boolean>;
  /** Frees a claimed key whose outcome is unknown, so that a retry runs and learns the truth. Never frees a `done` key. */
  releaseIdempotencyKey(caller: string, key: string): Promise<void>;
  /** Deletes every key expired at `now`; resolves with how many. */
  purgeExpiredIdempotencyKeys(now: Date): Promise<number>;
}

/**
 * The keys as the run path uses them (inject by this class): the audit database's table, or, with `audit.store: off`,
 * this process's memory. A store that cannot be used is AUDIT_UNAVAILABLE: the run would be refused anyway.
 */
export abstract class IdempotencyKeys {
  abstract claim(caller: string, key: string, fingerprint: string, expiresAt: Date): Promise<IdempotencyClaim>;
  abstract complete(caller: string, key: string, response: StoredResponse, entryId: string): Promise<void>;
  abstract release(caller: string, key: string): Promise<void>;
}

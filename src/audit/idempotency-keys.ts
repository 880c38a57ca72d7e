/**
 * Idempotency-Key bookkeeping, kept in the audit database so that every replica sharing a PostgreSQL store sees the
 * same keys. A key belongs to a caller: the same key sent by two callers is two keys. Times (expiry, leases) are the
 * database's clock, so replicas whose clocks disagree still agree on which key is live.
 */

/** The answer a first request got, replayed to its retries. */
export interface StoredResponse {
  status: number;
  /** The few headers worth replaying (Location, Content-Type...), lower-case names. */
  headers: Record<string, string>;
  /** The body as JSON text. */
  body: string;
}

/** One fleet member's final answer (its entry in the 207), kept until the whole fleet's answer is final. */
export interface StoredMember {
  /** The member's result in the 207 body, as JSON text. */
  result: string;
  entryId: string;
}

/**
 * What settles a key, written in the transaction that appends the audit entry recording the answer (through the spool
 * when the store is down), so that the key's answer is never lost while the entry is kept: the whole answer of a
 * single run, or one fleet member's.
 */
export type KeySettlement = { caller: string; key: string; entryId: string } & (
  | { response: StoredResponse }
  | { member: string; memberResult: string }
);

/**
 * - `claimed`: the key was free, expired, or held by a claim whose lease has ended (its request died): the caller
 *   runs the request, then settles or releases the key. `members`: a fleet's final member answers from before.
 * - `in_progress`: another live request holds the key.
 * - `done`: answered before, with `response`; `entryId` is the audit entry that recorded the original.
 * - `mismatch`: the key was used with a different request (its fingerprint differs).
 */
export type IdempotencyClaim =
  | { state: 'claimed'; members: Record<string, StoredMember> }
  | { state: 'in_progress' }
  | { state: 'done'; response: StoredResponse; entryId: string }
  | { state: 'mismatch' };

export interface ClaimRequest {
  caller: string;
  key: string;
  fingerprint: string;
  /** This process and request: only the holder's release frees the key. */
  owner: string;
  /** How long the key is remembered (idempotency.ttlHours). */
  ttlMs: number;
  /** How long the claim holds without its owner answering. */
  leaseMs: number;
}

export interface IdempotencyKeyStore {
  /** Atomic, also across replicas: of several claims racing for one key, exactly one gets `claimed`. */
  claimIdempotencyKey(claim: ClaimRequest): Promise<IdempotencyClaim>;
  /** Records an answer of a claimed key (settlement). False when there was no such claim to settle. */
  completeIdempotencyKey(settlement: KeySettlement): Promise<boolean>;
  /**
   * Frees a claim whose answer is not final, so that a retry runs and learns the truth; its final fleet members stay.
   * Only the owner's release counts. Never frees a `done` key.
   */
  releaseIdempotencyKey(caller: string, key: string, owner: string): Promise<void>;
  /**
   * Extends a live claim's lease to `leaseMs` from now (the database's clock), while its owner's request still runs.
   * Only the owner's claim, only while in progress; false when the key is no longer this owner's (taken over, done,
   * released, expired).
   */
  renewIdempotencyKey(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Deletes every key expired by the database's clock; resolves with how many. */
  purgeExpiredIdempotencyKeys(): Promise<number>;
}

/**
 * The keys as the run path uses them (inject by this class): the audit database's table, or, with `audit.store: off`,
 * this process's memory. A store that cannot be used is AUDIT_UNAVAILABLE: nothing was sent.
 */
export abstract class IdempotencyKeys {
  abstract claim(claim: ClaimRequest): Promise<IdempotencyClaim>;
  /** The whole answer (a fleet's, once every member's is final); the single run settles through its audit entry. */
  abstract complete(settlement: KeySettlement): Promise<void>;
  abstract release(caller: string, key: string, owner: string): Promise<void>;
  abstract renew(caller: string, key: string, owner: string, leaseMs: number): Promise<boolean>;
}

/**
 * The audit trail's vocabulary. An entry is append-only and hash-chained (audit-chain.ts); absent values are
 * stored and hashed as `null`, never omitted, so every entry has the same shape. Nothing here may ever hold a
 * credential: the actor is who called, not how they proved it.
 */

import type { AuthMethod } from '../auth/principal.js';
import type { KeySettlement } from './idempotency-keys.js';
import type { DraftOutbox } from './outbox.js';

/**
 * `auth.authenticate`: failed authentications from one client address, counted over a window (`count`).
 * `backup.fleet-run.cancel`: a caller cancelled the queued members of a fleet run (`fleetRequestId`); `appliance` is
 * `*` (the run's members are in the run, and each member's own start or cancellation in its state).
 */
export const AUDIT_ACTIONS = ['backup.schedule.run', 'auth.authenticate', 'backup.fleet-run.cancel'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Like Kubernetes audit stages: `requested` before anything reaches the appliance, `completed` once the outcome is known. */
export const AUDIT_STAGES = ['requested', 'completed'] as const;
export type AuditStage = (typeof AUDIT_STAGES)[number];

/**
 * `replayed`: an Idempotency-Key retry answered with the first request's stored answer (nothing was sent);
 * `rate_limited`: run requests of one caller refused by the rate limit, counted over a window (`count`).
 */
export const AUDIT_OUTCOMES = [
  'accepted',
  'denied',
  'rejected',
  'failed',
  'unknown',
  'replayed',
  'rate_limited',
] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The auth methods, as auth/ declares them (one vocabulary: the trail names what authentication knows). */
export { AUTH_METHODS, type AuthMethod } from '../auth/principal.js';

export interface AuditActor {
  subject: string;
  name?: string;
  clientId?: string;
  authMethod: AuthMethod;
  ip: string;
  userAgent?: string;
}

/** What the caller of AuditRecorder.requested knows before the run is sent. */
export interface AuditRequestedInput {
  requestId: string;
  action: AuditAction;
  actor: AuditActor;
  appliance: string;
  schedule: string;
  comment?: string;
  /** Set when the run is one of several started by one fleet request. */
  fleetRequestId?: string;
}

export interface AuditCompletedInput {
  requestId: string;
  action: AuditAction;
  actor: AuditActor;
  appliance: string;
  schedule: string;
  comment?: string;
  outcome: AuditOutcome;
  httpStatus: number;
  /** The problem code we answered with, if any. */
  code?: string;
  jobId?: string;
  durationMs: number;
  /** As on the `requested` entry: set when the run is one of several started by one fleet request. */
  fleetRequestId?: string;
  /**
   * The id AuditRecorder.requested resolved with: the `requested` entry this completes (request ids come from callers
   * and need not be unique).
   */
  requestedId: string;
  /** The Idempotency-Key answer this completion records (the entry's id is filled in by the draft). */
  settles?: KeySettlementOf;
}

/** A settlement before the entry recording it has an id. */
export type KeySettlementOf = KeySettlement extends infer S ? (S extends unknown ? Omit<S, 'entryId'> : never) : never;

/** An Idempotency-Key retry answered from the store: names the entry that recorded the original answer. */
export type AuditReplayedInput = Omit<AuditCompletedInput, 'jobId' | 'outcome' | 'requestedId'> & {
  jobId?: string;
  replayOf: string;
};

/** Run requests of one caller refused by the rate limit during a window: one entry with their number. */
export type AuditRateLimitedInput = Omit<AuditCompletedInput, 'jobId' | 'outcome' | 'requestedId' | 'durationMs'> & {
  count: number;
  /** The window's length. */
  durationMs: number;
};

/**
 * A refusal of ours before anything could reach the appliance: our 403 (`denied`, the default), or a request the
 * gateway itself rejects (`rejected`: an Idempotency-Key reused for another request, or still in progress).
 */
export type AuditDeniedInput = Omit<AuditCompletedInput, 'jobId' | 'outcome' | 'requestedId'> & {
  outcome?: 'denied' | 'rejected';
  /** Refusals aggregated over a window (failed authentications from one address): how many. */
  count?: number;
};

/** The actor as stored: every field present, `null` when unknown. */
export interface StoredActor {
  subject: string;
  name: string | null;
  clientId: string | null;
  authMethod: AuthMethod;
  ip: string;
  userAgent: string | null;
}

/** An entry before the store places it in the chain (it assigns `seq`, `prevHash` and `hash`). */
export interface AuditDraft {
  id: string;
  /** ISO 8601 UTC with milliseconds, when the service was told (not when a retried write landed). */
  time: string;
  stage: AuditStage;
  requestId: string;
  action: AuditAction;
  actor: StoredActor;
  appliance: string;
  schedule: string;
  comment: string | null;
  /** Only on `completed` entries. */
  outcome: AuditOutcome | null;
  httpStatus: number | null;
  code: string | null;
  jobId: string | null;
  durationMs: number | null;
  fleetRequestId: string | null;
  /** On a `completed` entry: the id of the `requested` entry it completes (null for a denial, which has none). */
  requestedId: string | null;
  /** On a `replayed` entry: the entry that recorded the answer replayed. Hashed only when set (added in v2). */
  replayOf: string | null;
  /** On a `rate_limited` entry: how many requests were refused. Hashed only when set (added in v2). */
  count: number | null;
  /**
   * Not part of the entry (never hashed or stored with it): the Idempotency-Key answer this entry records, written in
   * the same transaction, and through the spool with it when the store is down.
   */
  settles?: KeySettlement;
  /**
   * Not part of the entry either: the notifications it raises (and the job they follow), written in the same
   * transaction, and through the spool with it.
   */
  outbox?: DraftOutbox;
}

/** A `requested` entry's fields that only a completion fills in: every draft starts from these. */
export const NOT_YET_KNOWN = {
  outcome: null,
  httpStatus: null,
  code: null,
  jobId: null,
  durationMs: null,
  fleetRequestId: null,
  requestedId: null,
  replayOf: null,
  count: null,
} as const satisfies Partial<AuditDraft>;

/** Everything the hash covers: the draft, its position, and the previous entry's hash. */
export interface AuditEntryBody extends AuditDraft {
  /** Position in the chain: 1, 2, 3... without gaps. */
  seq: number;
  prevHash: string;
}

export interface AuditEntry extends AuditEntryBody {
  /** SHA-256 (hex) of the canonical serialisation of the body (audit-chain.ts). */
  hash: string;
}

/**
 * An entry as readers get it (GET /audit/events): the stored entry plus `finalOutcome`, derived at read time and
 * not covered by the hash. On a `completed` entry it is the entry's own outcome; on a `requested` entry it is the
 * outcome of the `completed` entry that names it in `requestedId`, or `unknown` while there is none (the run is
 * still in flight, or the process died before it learnt the outcome).
 */
export interface AuditEvent extends AuditEntry {
  finalOutcome: AuditOutcome;
}

/** What GET /audit/events can filter on. `outcome` matches `finalOutcome`. `since` inclusive, `until` exclusive. */
export interface AuditFilter {
  appliance?: string;
  /** Restricts to these appliances (a caller holding only `audit:read:{applianceId}` scopes); empty: nothing. */
  appliances?: readonly string[];
  actor?: string;
  schedule?: string;
  outcome?: AuditOutcome;
  stage?: AuditStage;
  /** ISO 8601 UTC, normalised with Date#toISOString so it compares as text with stored times. */
  since?: string;
  until?: string;
  requestId?: string;
}

export type VerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; firstBad: { id: string; reason: 'hash' | 'link' } };

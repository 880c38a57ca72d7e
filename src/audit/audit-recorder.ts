import type {
  AuditCompletedInput,
  AuditDeniedInput,
  AuditRateLimitedInput,
  AuditReplayedInput,
  AuditRequestedInput,
} from './audit-entry.js';

/**
 * What the run path tells the audit trail (inject it by this class). Two stages per run, both carrying the request id:
 *
 * - `requested`, before anything reaches the appliance: fails closed. It resolves with the entry's id once the entry
 *   is durably committed, else throws GatewayError AUDIT_UNAVAILABLE (with `retryAfter`): the store is unusable, or
 *   did not commit within 5 s. Nothing may then be sent to the appliance.
 * - `completed` once the outcome is known, naming the requested entry (`requestedId`); `denied` for our own 403 (one
 *   entry, outcome `denied`, no requested entry). Neither ever throws nor loses an entry: one the store cannot take
 *   waits in a durable spool until it can, also across a restart.
 *
 * `healthy()` is for /health/ready: false while the store cannot be opened or does not answer.
 */
export abstract class AuditRecorder {
  abstract requested(input: AuditRequestedInput): Promise<string>;
  /** These resolve with the entry's id (written, or waiting in the spool): an answer replayed later names it. */
  abstract completed(input: AuditCompletedInput): Promise<string>;
  abstract denied(input: AuditDeniedInput): Promise<string>;
  /** An Idempotency-Key retry answered with the stored answer; like `denied`, one entry that never throws. */
  abstract replayed(input: AuditReplayedInput): Promise<string>;
  /** Run requests one caller sent past its rate limit in one window; one entry that never throws. */
  abstract rateLimited(input: AuditRateLimitedInput): Promise<string>;
  abstract healthy(): Promise<boolean>;

  /**
   * Whether the answer settling this Idempotency-Key (a single run's, or a fleet member's) waits in the spool, not yet
   * in the store. Until it is written the key is neither taken by a retry nor released (StoredIdempotencyKeys): the
   * store does not know the answer yet, and a retry would send the run again. Without a spool, never.
   */
  settlementWaiting(_caller: string, _key: string): boolean {
    return false;
  }
}

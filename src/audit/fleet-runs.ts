/**
 * Fleet runs in waves, as the audit database keeps them: a fleet run and its members, each member on a backup target
 * (`scheme://host:port`). A member holds a slot of its target while it is `starting` or `running`; a target has room
 * while fewer than `fleet.perTargetConcurrency` members of any fleet run hold one (counted in the database, so every
 * replica sharing it counts the same). A fleet run is held by one process at a time (an owner and a lease, as for
 * Idempotency-Key claims): that process starts its queued members and follows its running ones; once the lease has
 * passed without renewal (the process died), another takes it over. Times are the database's clock.
 */
import type { AuditActor } from './audit-entry.js';
import type { OutboxMessageDraft } from './outbox.js';

export const FLEET_RUN_STATES = ['running', 'completed', 'cancelled'] as const;
export type FleetRunState = (typeof FLEET_RUN_STATES)[number];

/** `starting`: its run is being sent (shown as `running`); it holds its target's slot like a running one. */
export const FLEET_MEMBER_STATES = [
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'unknown',
  'cancelled',
] as const;
export type FleetMemberState = (typeof FLEET_MEMBER_STATES)[number];

/** The states that hold a slot of the member's target. */
export const SLOT_STATES: readonly FleetMemberState[] = ['starting', 'running'];

/** The states of a member not finished yet: a run ends once none of its members is in one. */
export const ACTIVE_STATES: readonly FleetMemberState[] = ['queued', ...SLOT_STATES];

export function isActive(state: FleetMemberState): boolean {
  return ACTIVE_STATES.includes(state);
}

/**
 * `async`: started with `Prefer: respond-async`, its queue is started by its holder. `sync`: a 207 request's members
 * that started, kept so that they count on their targets until their jobs end.
 */
export type FleetRunMode = 'async' | 'sync';

export interface FleetMemberRecord {
  appliance: string;
  target: string;
  state: FleetMemberState;
  jobId?: string;
  /** The problem document of a member that failed or may have started, as JSON text. */
  error?: string;
  startedAt?: string;
  endedAt?: string;
}

export interface FleetRunRecord {
  id: string;
  mode: FleetRunMode;
  /** The CallerId of who started it: that caller may always read it. */
  caller: string;
  /** As the audit trail names who started it; every member start is audited with it. */
  actor: AuditActor;
  requestId: string;
  schedule: string;
  comment?: string;
  state: FleetRunState;
  createdAt: string;
  /** Set once no member is queued, starting or running any more. */
  endedAt?: string;
  /** In the order they were asked for. */
  members: FleetMemberRecord[];
}

export interface NewFleetRun {
  id: string;
  mode: FleetRunMode;
  caller: string;
  actor: AuditActor;
  requestId: string;
  schedule: string;
  comment?: string;
  /** Queued, or already final (a member refused before it could queue: `failed` with its problem). */
  members: { appliance: string; target: string; state: 'queued' | 'failed'; error?: string }[];
}

/** A member's new state, written only while it is in one of `from`. */
export interface FleetMemberUpdate {
  state: FleetMemberState;
  from: FleetMemberState[];
  jobId?: string;
  error?: string;
  /** Stamp the database's time as its start / end. */
  started?: boolean;
  ended?: boolean;
}

/** How a run that is ending was read (its state), and the outbox messages that announce its end. */
export interface FleetRunEnd {
  state: FleetRunState;
  messages: OutboxMessageDraft[];
}

/** What the store answers for the fleet runs (SQLite, PostgreSQL; or this process's memory with the audit trail off). */
export interface FleetRunStore {
  /** Creates the run and its members, held by `owner` for `leaseMs`. */
  createFleetRun(run: NewFleetRun, owner: string, leaseMs: number): Promise<FleetRunRecord>;
  getFleetRun(id: string): Promise<FleetRunRecord | undefined>;
  /**
   * The unfinished runs `owner` holds now: every one of its own, their leases renewed (however many: a run it holds and
   * does not renew would lapse while it still advances it), then at most `limit` whose lease has passed or that nobody
   * holds (taken over), oldest first. Atomic across replicas: a run is held by one owner at a time.
   */
  claimFleetRuns(owner: string, leaseMs: number, limit: number): Promise<string[]>;
  /**
   * Queued members of an async run that `owner` holds move to `starting` while their target has room (fewer than
   * `perTarget` members of any run in a slot state), in their order; resolves with them. Atomic across replicas.
   */
  reserveFleetMembers(id: string, owner: string, perTarget: number): Promise<{ appliance: string; target: string }[]>;
  /**
   * A sync run's member enters `starting` if its target has room; false (nothing written) if it has not, or if the run
   * has ended meanwhile (another replica took it over and ended it: a member entered then would hold its target's slot
   * for ever, no step following an ended run).
   */
  enterFleetMember(id: string, member: { appliance: string; target: string }, perTarget: number): Promise<boolean>;
  /** False when the member was not in one of `update.from` (someone else moved it). */
  updateFleetMember(id: string, appliance: string, update: FleetMemberUpdate): Promise<boolean>;
  /** Queued members become `cancelled` and the run `cancelled`; running members are left running. */
  cancelFleetRun(id: string): Promise<FleetRunRecord | undefined>;
  /**
   * Ends the run (`completed`, or `cancelled` if it was) when no member is queued, starting or running, and its state
   * is still `end.state`; with `end.messages` (the notifications announcing it) written in the same transaction, so
   * an end is never recorded without them. True for the one call that ended it.
   */
  finishFleetRun(id: string, end: FleetRunEnd): Promise<boolean>;
  /** Gives up `owner`'s hold on its runs (at shutdown): another process may take them over at once. */
  releaseFleetRuns(owner: string): Promise<void>;
}

/**
 * The fleet runs as the backups module uses them (inject by this class): the audit database's tables, or with
 * `audit.store: off` this process's memory (not durable). A store that cannot be used throws AUDIT_UNAVAILABLE.
 */
export abstract class FleetRunRecords implements FleetRunStore {
  /** Whether the runs survive a restart (false: memory, `audit.store: off`). */
  abstract readonly durable: boolean;
  abstract createFleetRun(run: NewFleetRun, owner: string, leaseMs: number): Promise<FleetRunRecord>;
  abstract getFleetRun(id: string): Promise<FleetRunRecord | undefined>;
  abstract claimFleetRuns(owner: string, leaseMs: number, limit: number): Promise<string[]>;
  abstract reserveFleetMembers(
    id: string,
    owner: string,
    perTarget: number,
  ): Promise<{ appliance: string; target: string }[]>;
  abstract enterFleetMember(
    id: string,
    member: { appliance: string; target: string },
    perTarget: number,
  ): Promise<boolean>;
  abstract updateFleetMember(id: string, appliance: string, update: FleetMemberUpdate): Promise<boolean>;
  abstract cancelFleetRun(id: string): Promise<FleetRunRecord | undefined>;
  abstract finishFleetRun(id: string, end: FleetRunEnd): Promise<boolean>;
  abstract releaseFleetRuns(owner: string): Promise<void>;
}

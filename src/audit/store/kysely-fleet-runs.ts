/**
 * The fleet-run statements both stores share (kysely compiles them per dialect), each run in a write transaction by the
 * store. A target's room is counted and taken in one transaction: SQLite serialises write transactions (BEGIN
 * IMMEDIATE); on PostgreSQL the transaction first takes an advisory lock on the target (`pg_advisory_xact_lock`, held
 * to its commit), so two replicas filling one target count one after the other. Every time is the database's.
 */
import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import type { AuditActor } from '../audit-entry.js';
import {
  ACTIVE_STATES,
  type FleetMemberRecord,
  type FleetMemberState,
  type FleetMemberUpdate,
  type FleetRunEnd,
  type FleetRunRecord,
  type FleetRunStore,
  type NewFleetRun,
  SLOT_STATES,
} from '../fleet-runs.js';
import type { AuditDatabase } from './audit-schema.js';
import type { FleetRunMembersTable, FleetRunsTable } from './fleet-runs-schema.js';
import type { Clock } from './kysely-idempotency-keys.js';
import { insertMessages } from './kysely-outbox.js';

type Db = Kysely<AuditDatabase>;
const SLOTS = [...SLOT_STATES];
const ACTIVE = [...ACTIVE_STATES];

/** Serialises the counting of one target's slots across processes (PostgreSQL); SQLite's write lock already does. */
export type TargetLock = (trx: Db, target: string) => Promise<void>;

export const postgresTargetLock: TargetLock = async (trx, target) => {
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`backup-gateway:fleet-target:${target}`}))`.execute(trx);
};

export const noTargetLock: TargetLock = async () => undefined;

export async function createRun(trx: Db, now: Clock, run: NewFleetRun, owner: string, leaseMs: number): Promise<void> {
  await trx
    .insertInto('fleet_runs')
    .values({
      id: run.id,
      mode: run.mode,
      caller: run.caller,
      actor: JSON.stringify(run.actor),
      request_id: run.requestId,
      schedule: run.schedule,
      comment: run.comment ?? null,
      state: 'running',
      created_at: now(),
      ended_at: null,
      owner,
      lease_until: now(leaseMs),
    })
    .execute();
  // Chunks keep every insert under SQLite's and PostgreSQL's bound-parameter limits (9 columns a member).
  for (let i = 0; i < run.members.length; i += 500) {
    await trx
      .insertInto('fleet_run_members')
      .values(
        run.members.slice(i, i + 500).map((member, j) => ({
          fleet_run_id: run.id,
          position: i + j,
          appliance: member.appliance,
          target: member.target,
          state: member.state,
          job_id: null,
          error: member.error ?? null,
          started_at: null,
          ended_at: member.state === 'failed' ? now() : null,
        })),
      )
      .execute();
  }
}

export async function readRun(db: Db, id: string): Promise<FleetRunRecord | undefined> {
  const run = await db.selectFrom('fleet_runs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!run) return undefined;
  const members = await db
    .selectFrom('fleet_run_members')
    .selectAll()
    .where('fleet_run_id', '=', id)
    .orderBy('position', 'asc')
    .execute();
  return recordOf(run, members);
}

export async function claimRuns(trx: Db, now: Clock, owner: string, leaseMs: number, limit: number): Promise<string[]> {
  // Every run this owner still holds is renewed, without a limit: the limit is on what it takes over.
  const held = await trx
    .updateTable('fleet_runs')
    .set({ lease_until: now(leaseMs) })
    .where('owner', '=', owner)
    .where('ended_at', 'is', null)
    .returning(['id', 'created_at'])
    .execute();
  held.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  const ownIds = held.map((row) => row.id);
  // Its own were just renewed, so a lapsed lease is another's (or nobody's).
  const lapsed = (eb: ExpressionBuilder<AuditDatabase, 'fleet_runs'>) =>
    eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now())]);
  const ids = await trx
    .selectFrom('fleet_runs')
    .select('id')
    .where('ended_at', 'is', null)
    .where(lapsed)
    .orderBy('created_at', 'asc')
    .limit(limit)
    .execute();
  if (ids.length === 0) return ownIds;
  // Taken only if still claimable: on PostgreSQL, of two replicas claiming one run, the second's update re-reads the
  // row the first committed and takes nothing.
  const taken = await trx
    .updateTable('fleet_runs')
    .set({ owner, lease_until: now(leaseMs) })
    .where(
      'id',
      'in',
      ids.map((row) => row.id),
    )
    .where('ended_at', 'is', null)
    .where(lapsed)
    .returning('id')
    .execute();
  return [...ownIds, ...taken.map((row) => row.id)];
}

async function slotsTaken(trx: Db, target: string): Promise<number> {
  const row = await trx
    .selectFrom('fleet_run_members')
    .select((eb) => eb.fn.countAll<number | string>().as('taken'))
    .where('target', '=', target)
    .where('state', 'in', SLOTS)
    .executeTakeFirstOrThrow();
  return Number(row.taken);
}

export async function reserveMembers(
  trx: Db,
  now: Clock,
  lock: TargetLock,
  id: string,
  owner: string,
  perTarget: number,
): Promise<{ appliance: string; target: string }[]> {
  const held = await trx
    .selectFrom('fleet_runs')
    .select('id')
    .where('id', '=', id)
    .where('owner', '=', owner)
    .where('mode', '=', 'async')
    .where('state', '=', 'running')
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  if (!held) return [];
  const queued = await trx
    .selectFrom('fleet_run_members')
    .select(['appliance', 'target'])
    .where('fleet_run_id', '=', id)
    .where('state', '=', 'queued')
    .orderBy('position', 'asc')
    .execute();
  const byTarget = new Map<string, string[]>();
  for (const member of queued) {
    const list = byTarget.get(member.target);
    if (list) list.push(member.appliance);
    else byTarget.set(member.target, [member.appliance]);
  }
  const reserved: { appliance: string; target: string }[] = [];
  // Targets in one order in every process, so two transactions never wait on each other's locks.
  for (const target of [...byTarget.keys()].sort()) {
    await lock(trx, target);
    const room = perTarget - (await slotsTaken(trx, target));
    const next = (byTarget.get(target) ?? []).slice(0, Math.max(0, room));
    if (next.length === 0) continue;
    await trx
      .updateTable('fleet_run_members')
      .set({ state: 'starting', started_at: now() })
      .where('fleet_run_id', '=', id)
      .where('appliance', 'in', next)
      .where('state', '=', 'queued')
      .execute();
    reserved.push(...next.map((appliance) => ({ appliance, target })));
  }
  return reserved;
}

export async function enterMember(
  trx: Db,
  now: Clock,
  lock: TargetLock,
  id: string,
  member: { appliance: string; target: string },
  perTarget: number,
): Promise<boolean> {
  await lock(trx, member.target);
  const run = await trx.selectFrom('fleet_runs').select('ended_at').where('id', '=', id).executeTakeFirst();
  if (!run || run.ended_at !== null) return false;
  if ((await slotsTaken(trx, member.target)) >= perTarget) return false;
  const last = await trx
    .selectFrom('fleet_run_members')
    .select((eb) => eb.fn.max<number | null>('position').as('last'))
    .where('fleet_run_id', '=', id)
    .executeTakeFirst();
  await trx
    .insertInto('fleet_run_members')
    .values({
      fleet_run_id: id,
      position: last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1,
      appliance: member.appliance,
      target: member.target,
      state: 'starting',
      job_id: null,
      error: null,
      started_at: now(),
      ended_at: null,
    })
    .execute();
  return true;
}

export async function updateMember(
  trx: Db,
  now: Clock,
  id: string,
  appliance: string,
  update: FleetMemberUpdate,
): Promise<boolean> {
  const result = await trx
    .updateTable('fleet_run_members')
    .set({
      state: update.state,
      ...(update.jobId !== undefined && { job_id: update.jobId }),
      ...(update.error !== undefined && { error: update.error }),
      ...(update.started && { started_at: now() }),
      ...(update.ended && { ended_at: now() }),
    })
    .where('fleet_run_id', '=', id)
    .where('appliance', '=', appliance)
    .where('state', 'in', update.from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function cancelRun(trx: Db, now: Clock, id: string): Promise<boolean> {
  const run = await trx.selectFrom('fleet_runs').select('state').where('id', '=', id).executeTakeFirst();
  if (!run) return false;
  if (run.state === 'running') {
    await trx.updateTable('fleet_runs').set({ state: 'cancelled' }).where('id', '=', id).execute();
    await trx
      .updateTable('fleet_run_members')
      .set({ state: 'cancelled', ended_at: now() })
      .where('fleet_run_id', '=', id)
      .where('state', '=', 'queued')
      .execute();
  }
  return true;
}

export async function finishRun(trx: Db, now: Clock, id: string, end: FleetRunEnd): Promise<boolean> {
  const active = await trx
    .selectFrom('fleet_run_members')
    .select('appliance')
    .where('fleet_run_id', '=', id)
    .where('state', 'in', ACTIVE)
    .limit(1)
    .executeTakeFirst();
  if (active) return false;
  const result = await trx
    .updateTable('fleet_runs')
    .set((eb) => ({
      ended_at: now(),
      state: eb
        .case()
        .when('state', '=', 'cancelled')
        .then(sql<'cancelled'>`'cancelled'`)
        .else(sql<'completed'>`'completed'`)
        .end(),
      owner: null,
      lease_until: null,
    }))
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    // As it was read when its announcement was written: a cancel in between makes this call end nothing.
    .where('state', '=', end.state)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) return false;
  await insertMessages(trx, now, end.messages);
  return true;
}

export async function releaseRuns(trx: Db, now: Clock, owner: string): Promise<void> {
  await trx
    .updateTable('fleet_runs')
    .set({ owner: null, lease_until: now() })
    .where('owner', '=', owner)
    .where('ended_at', 'is', null)
    .execute();
}

function recordOf(run: Selectable<FleetRunsTable>, members: Selectable<FleetRunMembersTable>[]): FleetRunRecord {
  return {
    id: run.id,
    mode: run.mode,
    caller: run.caller,
    actor: JSON.parse(run.actor) as AuditActor,
    requestId: run.request_id,
    schedule: run.schedule,
    ...(run.comment !== null && { comment: run.comment }),
    state: run.state,
    createdAt: run.created_at,
    ...(run.ended_at !== null && { endedAt: run.ended_at }),
    members: members.map(
      (member): FleetMemberRecord => ({
        appliance: member.appliance,
        target: member.target,
        state: member.state as FleetMemberState,
        ...(member.job_id !== null && { jobId: member.job_id }),
        ...(member.error !== null && { error: member.error }),
        ...(member.started_at !== null && { startedAt: member.started_at }),
        ...(member.ended_at !== null && { endedAt: member.ended_at }),
      }),
    ),
  };
}

/** What a dialect's store lends the fleet-run statements: its connection, its write transactions, its clock. */
export interface FleetRunDatabase {
  db(): Db;
  write<T>(work: (trx: Db) => Promise<T>): Promise<T>;
  clock: Clock;
  lock: TargetLock;
}

/** The fleet runs of a KyselyAuditStore (SQLite or PostgreSQL). */
export class KyselyFleetRuns implements FleetRunStore {
  constructor(private readonly database: FleetRunDatabase) {}

  async createFleetRun(run: NewFleetRun, owner: string, leaseMs: number): Promise<FleetRunRecord> {
    const { clock } = this.database;
    await this.database.write((trx) => createRun(trx, clock, run, owner, leaseMs));
    return (await readRun(this.database.db(), run.id)) as FleetRunRecord;
  }

  getFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    return readRun(this.database.db(), id);
  }

  claimFleetRuns(owner: string, leaseMs: number, limit: number): Promise<string[]> {
    return this.database.write((trx) => claimRuns(trx, this.database.clock, owner, leaseMs, limit));
  }

  reserveFleetMembers(id: string, owner: string, perTarget: number): Promise<{ appliance: string; target: string }[]> {
    const { clock, lock } = this.database;
    return this.database.write((trx) => reserveMembers(trx, clock, lock, id, owner, perTarget));
  }

  enterFleetMember(id: string, member: { appliance: string; target: string }, perTarget: number): Promise<boolean> {
    const { clock, lock } = this.database;
    return this.database.write((trx) => enterMember(trx, clock, lock, id, member, perTarget));
  }

  updateFleetMember(id: string, appliance: string, update: FleetMemberUpdate): Promise<boolean> {
    return this.database.write((trx) => updateMember(trx, this.database.clock, id, appliance, update));
  }

  async cancelFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    const found = await this.database.write((trx) => cancelRun(trx, this.database.clock, id));
    return found ? readRun(this.database.db(), id) : undefined;
  }

  finishFleetRun(id: string, end: FleetRunEnd): Promise<boolean> {
    return this.database.write((trx) => finishRun(trx, this.database.clock, id, end));
  }

  releaseFleetRuns(owner: string): Promise<void> {
    return this.database.write((trx) => releaseRuns(trx, this.database.clock, owner));
  }
}

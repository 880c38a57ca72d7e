/**
 * The notification outbox's statements, shared by both stores (kysely compiles them per dialect). Claims lease rows to
 * one owner: on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment each
 * get other rows and never wait for one another; SQLite serialises its write transactions (one gateway per file).
 * Every time is the database's clock, so replicas whose clocks disagree still agree on what is due.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type {
  DeliveryResult,
  FollowedJob,
  FollowedJobDraft,
  OutboxCursor,
  OutboxFilter,
  OutboxMessage,
  OutboxMessageDraft,
  OutboxState,
  OutboxStats,
} from '../outbox.js';
import type { AuditDatabase, NotificationOutboxTable } from './audit-schema.js';
import type { Clock } from './kysely-idempotency-keys.js';

/** A job not seen to end within this long is no longer followed (its appliance was removed, or forgot it). */
const FOLLOW_AT_MOST_MS = 48 * 3600_000;
/** What is kept of an attempt's error: enough to tell a timeout from a refused connection. */
const ERROR_MAX = 300;

export async function insertMessages(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  messages: readonly OutboxMessageDraft[],
): Promise<void> {
  if (messages.length === 0) return;
  await trx
    .insertInto('notification_outbox')
    .values(
      messages.map((message) => ({
        id: message.id,
        event_id: message.eventId,
        webhook: message.webhook,
        type: message.type,
        subject: message.subject,
        body: message.body,
        state: 'pending' as const,
        created_at: now(),
        next_attempt_at: now(),
        attempts: 0,
        last_status: null,
        last_error: null,
        delivered_at: null,
        lease_owner: null,
        lease_until: null,
      })),
    )
    // Written again (a spooled draft, or two replicas seeing one job end): the message is stored once.
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
}

export async function followJob(trx: Kysely<AuditDatabase>, now: Clock, job: FollowedJobDraft): Promise<void> {
  await trx
    .insertInto('followed_jobs')
    .values({
      appliance: job.appliance,
      job_id: job.jobId,
      context: job.context,
      created_at: now(),
      lease_owner: null,
      lease_until: null,
    })
    .onConflict((conflict) => conflict.columns(['appliance', 'job_id']).doNothing())
    .execute();
}

export async function unfollowJob(trx: Kysely<AuditDatabase>, job: { appliance: string; jobId: string }) {
  await trx
    .deleteFrom('followed_jobs')
    .where('appliance', '=', job.appliance)
    .where('job_id', '=', job.jobId)
    .execute();
}

export async function claimMessages(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  rowLocks: boolean,
  owner: string,
  limit: number,
  leaseMs: number,
  skip: readonly string[] = [],
): Promise<OutboxMessage[]> {
  let due = trx
    .selectFrom('notification_outbox')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', now())
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now())]))
    .orderBy('next_attempt_at', 'asc')
    .limit(limit);
  if (skip.length > 0) due = due.where('webhook', 'not in', [...skip]);
  if (rowLocks) due = due.forUpdate().skipLocked();
  const rows = await trx
    .updateTable('notification_outbox')
    .set({ lease_owner: owner, lease_until: now(leaseMs) })
    .where('id', 'in', due)
    .returningAll()
    .execute();
  return rows.map(messageOf).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
}

/**
 * Records one attempt of a message `owner` holds, and answers the state it is in now (null: not held). A retry whose
 * next attempt would fall after the message's window (its first 24 h) makes it `failed` instead: given up on, kept for
 * the deliveries list. Only the database knows which, so the caller counts and logs what this answers.
 */
export async function settleMessage(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  id: string,
  owner: string,
  result: DeliveryResult,
): Promise<OutboxState | null> {
  const attempt = {
    lease_owner: null,
    lease_until: null,
    last_status: result.status,
    last_error: result.outcome === 'delivered' ? null : result.error.slice(0, ERROR_MAX),
  };
  const row = trx
    .updateTable('notification_outbox')
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'pending');
  let update: typeof row;
  if (result.outcome === 'delivered') {
    update = row.set((eb) => ({
      ...attempt,
      state: 'delivered',
      delivered_at: now(),
      attempts: eb('attempts', '+', 1),
    }));
  } else if (result.outcome === 'failed') {
    update = row.set((eb) => ({ ...attempt, state: 'failed', attempts: eb('attempts', '+', 1) }));
  } else {
    const { retryInMs, windowMs } = result;
    update = row.set((eb) => ({
      ...attempt,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: now(retryInMs),
      state: eb
        .case()
        .when('created_at', '<=', now(retryInMs - windowMs))
        .then(sql<'failed'>`'failed'`)
        .else(sql<'pending'>`'pending'`)
        .end(),
    }));
  }
  const updated = await update.returning('state').executeTakeFirst();
  return updated?.state ?? null;
}

/** Messages `owner` claimed and will not try: due again at once, for any replica. */
export async function releaseMessages(trx: Kysely<AuditDatabase>, owner: string, ids: readonly string[]) {
  if (ids.length === 0) return;
  await trx
    .updateTable('notification_outbox')
    .set({ lease_owner: null, lease_until: null })
    .where('id', 'in', ids)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'pending')
    .execute();
}

/** Deletes up to `limit` finished messages created before `cutoff`, oldest first; resolves with how many. */
export async function purgeMessages(trx: Kysely<AuditDatabase>, cutoff: string, limit: number): Promise<number> {
  const result = await trx
    .deleteFrom('notification_outbox')
    .where(
      'id',
      'in',
      trx
        .selectFrom('notification_outbox')
        .select('id')
        .where('created_at', '<', cutoff)
        .where('state', 'in', ['delivered', 'failed'])
        .orderBy('created_at', 'asc')
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function listMessages(
  db: Kysely<AuditDatabase>,
  filter: OutboxFilter,
  page: { limit: number; before?: OutboxCursor },
): Promise<OutboxMessage[]> {
  let query = db.selectFrom('notification_outbox').selectAll();
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.webhook !== undefined) query = query.where('webhook', '=', filter.webhook);
  const before = page.before;
  if (before !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', before.createdAt),
        eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)]),
      ]),
    );
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return rows.map(messageOf);
}

export async function messageStats(db: Kysely<AuditDatabase>, now: Clock): Promise<OutboxStats> {
  const row = await db
    .selectFrom('notification_outbox')
    .select((eb) => [eb.fn.countAll<number | string>().as('pending'), eb.fn.min('created_at').as('oldest')])
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  const clock = await sql<{ now: string }>`SELECT ${now()} AS now`.execute(db);
  return { pending: Number(row.pending), oldestPendingAt: row.oldest ?? null, now: clock.rows[0].now };
}

export async function claimJobs(
  trx: Kysely<AuditDatabase>,
  now: Clock,
  rowLocks: boolean,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<FollowedJob[]> {
  await trx.deleteFrom('followed_jobs').where('created_at', '<=', now(-FOLLOW_AT_MOST_MS)).execute();
  let due = trx
    .selectFrom('followed_jobs')
    .select(['appliance', 'job_id'])
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now())]))
    // Never-claimed jobs first, then the longest unpolled. Said outright: PostgreSQL sorts NULLs last and SQLite first,
    // and behind every expired lease a new job would wait for its first poll as long as the list is long.
    .orderBy((eb) => eb.case().when('lease_until', 'is', null).then(eb.lit(0)).else(eb.lit(1)).end())
    .orderBy('lease_until', 'asc')
    .limit(limit);
  if (rowLocks) due = due.forUpdate().skipLocked();
  const picked = await due.execute();
  if (picked.length === 0) return [];
  const rows = await trx
    .updateTable('followed_jobs')
    .set({ lease_owner: owner, lease_until: now(leaseMs) })
    .where((eb) => eb.or(picked.map((job) => eb.and({ appliance: job.appliance, job_id: job.job_id }))))
    .returningAll()
    .execute();
  return rows.map((row) => ({
    appliance: row.appliance,
    jobId: row.job_id,
    context: row.context,
    createdAt: row.created_at,
  }));
}

function messageOf(row: Selectable<NotificationOutboxTable>): OutboxMessage {
  return {
    id: row.id,
    eventId: row.event_id,
    webhook: row.webhook,
    type: row.type,
    subject: row.subject,
    body: row.body,
    state: row.state,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    attempts: Number(row.attempts),
    lastStatus: row.last_status,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
  };
}

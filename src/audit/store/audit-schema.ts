/**
 * The one schema both stores share, written with kysely's schema builder so each dialect gets its own DDL, and
 * applied at start-up by kysely's Migrator (which serialises concurrent start-ups: an advisory lock on PostgreSQL).
 * Migrations are append-only: never edit one that has shipped, add the next.
 */
import { type ColumnType, type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { GENESIS_HASH } from '../audit-chain.js';
import { FLEET_RUN_MIGRATIONS, type FleetRunTables } from './fleet-runs-schema.js';

/** PostgreSQL returns int8 as a string; the stores convert with Number() (seq stays far below 2^53). */
type Int8 = ColumnType<number | string, number, number>;

/** The fleet-run tables (fleet-runs-schema.ts) are part of the database too (merged into the declaration below). */
export interface AuditDatabase extends FleetRunTables {}

export interface AuditEntriesTable {
  seq: Int8;
  id: string;
  time: string;
  stage: string;
  request_id: string;
  action: string;
  actor_subject: string;
  actor_name: string | null;
  actor_client_id: string | null;
  actor_auth_method: string;
  actor_ip: string;
  actor_user_agent: string | null;
  appliance: string;
  schedule: string;
  comment: string | null;
  outcome: string | null;
  http_status: number | null;
  code: string | null;
  job_id: string | null;
  duration_ms: number | null;
  fleet_request_id: string | null;
  requested_id: string | null;
  replay_of: string | null;
  count: number | null;
  prev_hash: string;
  hash: string;
  /**
   * The entry's finalOutcome (FINAL_OUTCOME below), kept up to date by the store so that pages filtered by it are one
   * index range read. Not hashed: it is derived from hashed fields of this entry and of its completion. Null only on
   * entries a replica of an earlier version wrote after this column was added (a rolling upgrade); reads then derive it.
   */
  final_outcome: string | null;
}

/**
 * An entry's final outcome, in SQL, for the entry row named `e`: a `completed` entry's own outcome; for a `requested`
 * one, the outcome of the first `completed` entry naming it in `requested_id`, else `unknown`. The one definition: the
 * migration that added `final_outcome` filled it with this, the store sets it with this when a completion is written,
 * and reads fall back to it where the column is null.
 */
export const FINAL_OUTCOME = sql<string>`CASE WHEN e.stage = 'completed' THEN e.outcome ELSE COALESCE((SELECT c.outcome FROM audit_entries c WHERE c.requested_id = e.id ORDER BY c.seq LIMIT 1), 'unknown') END`;

/** Exactly one row (id 1): the newest entry and the retention anchor. Appends lock it to serialise writers. */
export interface AuditChainHeadTable {
  id: number;
  last_seq: Int8;
  last_id: string | null;
  last_hash: string;
  anchor_seq: Int8;
  anchor_hash: string;
}

/** One row per (caller, key): an Idempotency-Key claimed, then done (with the answer to replay) or released. */
export interface IdempotencyKeysTable {
  caller: string;
  idempotency_key: string;
  /** Of the request that claimed the key: a retry must carry the same one. */
  fingerprint: string;
  state: 'in_progress' | 'done';
  response_status: number | null;
  /** JSON object text: the few headers replayed. */
  response_headers: string | null;
  /** JSON text, as sent. */
  response_body: string | null;
  /** The audit entry that recorded the original request. */
  entry_id: string | null;
  /** ISO 8601 UTC, compared as text like entry times; written from the database's clock, never a replica's. */
  created_at: string;
  expires_at: string;
  /** Who holds an `in_progress` claim (a process and request), and until when: past it, a retry takes it over. */
  owner: string | null;
  lease_until: string | null;
  /** A fleet run's members whose answer is final, JSON: a retry replays them and runs only the others. */
  members: string | null;
}

/** One row per message for one webhook (audit/outbox.ts): pending until delivered, or failed after its 24 h. */
export interface NotificationOutboxTable {
  /** The `webhook-id` of every attempt. */
  id: string;
  event_id: string;
  webhook: string;
  type: string;
  subject: string;
  body: string;
  state: 'pending' | 'delivered' | 'failed';
  /** ISO 8601 UTC text from the database's clock, like every time of these tables. */
  created_at: string;
  next_attempt_at: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  /** Who is delivering it right now, and until when: past it, another replica may. */
  lease_owner: string | null;
  lease_until: string | null;
}

/** Jobs accepted and not yet seen to end, followed for their end event; a lease is one poll interval of one replica. */
export interface FollowedJobsTable {
  appliance: string;
  job_id: string;
  context: string;
  created_at: string;
  lease_owner: string | null;
  lease_until: string | null;
}

export interface AuditDatabase {
  audit_entries: AuditEntriesTable;
  audit_chain_head: AuditChainHeadTable;
  idempotency_keys: IdempotencyKeysTable;
  notification_outbox: NotificationOutboxTable;
  followed_jobs: FollowedJobsTable;
}

const MIGRATIONS: Record<string, Migration> = {
  '0001-audit-entries': {
    async up(db: Kysely<unknown>): Promise<void> {
      // `time` is ISO 8601 text (toISOString), not a timestamp type: it round-trips byte for byte, so the hash
      // still matches after a read, and it sorts and compares as text identically in both dialects.
      await db.schema
        .createTable('audit_entries')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor_subject', 'text', (c) => c.notNull())
        .addColumn('actor_name', 'text')
        .addColumn('actor_client_id', 'text')
        .addColumn('actor_auth_method', 'text', (c) => c.notNull())
        .addColumn('actor_ip', 'text', (c) => c.notNull())
        .addColumn('actor_user_agent', 'text')
        .addColumn('appliance', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('outcome', 'text')
        .addColumn('http_status', 'integer')
        .addColumn('code', 'text')
        .addColumn('job_id', 'text')
        .addColumn('duration_ms', 'integer')
        .addColumn('fleet_request_id', 'text')
        .addColumn('requested_id', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // Filters walk newest first by seq; these let the common ones do so without scanning the table (until 0007).
      await db.schema
        .createIndex('audit_entries_appliance_seq')
        .on('audit_entries')
        .columns(['appliance', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_entries_actor_seq')
        .on('audit_entries')
        .columns(['actor_subject', 'seq'])
        .execute();
      await db.schema.createIndex('audit_entries_request_id').on('audit_entries').column('request_id').execute();
      await db.schema.createIndex('audit_entries_time').on('audit_entries').column('time').execute();
      await db.schema.createIndex('audit_entries_requested_id').on('audit_entries').column('requested_id').execute();

      await db.schema
        .createTable('audit_chain_head')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('last_id', 'text')
        .addColumn('last_hash', 'text', (c) => c.notNull())
        .addColumn('anchor_seq', 'bigint', (c) => c.notNull())
        .addColumn('anchor_hash', 'text', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO audit_chain_head (id, last_seq, last_id, last_hash, anchor_seq, anchor_hash)
                VALUES (1, 0, NULL, ${GENESIS_HASH}, 0, ${GENESIS_HASH})`.execute(db);
    },
  },
  '0002-idempotency-keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('caller', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('in_progress', 'done')`))
        .addColumn('response_status', 'integer')
        .addColumn('response_headers', 'text')
        .addColumn('response_body', 'text')
        .addColumn('entry_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pkey', ['caller', 'idempotency_key'])
        .execute();
      // The purge deletes by expiry; claims go by the primary key.
      await db.schema.createIndex('idempotency_keys_expires_at').on('idempotency_keys').column('expires_at').execute();
    },
  },
  '0003-replays-and-rate-limits': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A replayed answer names the entry of the original; a rate-limited window counts its refusals.
      await db.schema.alterTable('audit_entries').addColumn('replay_of', 'text').execute();
      await db.schema.alterTable('audit_entries').addColumn('count', 'integer').execute();
    },
  },
  '0004-idempotency-leases': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A claim left by a request that died is taken over once its lease ends, instead of holding the key for a day.
      await db.schema.alterTable('idempotency_keys').addColumn('owner', 'text').execute();
      await db.schema.alterTable('idempotency_keys').addColumn('lease_until', 'text').execute();
      await db.schema.alterTable('idempotency_keys').addColumn('members', 'text').execute();
    },
  },
  '0005-notifications': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('notification_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('webhook', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('pending', 'delivered', 'failed')`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .execute();
      // Claims walk the pending messages by when they are due; the deliveries list goes newest first.
      await db.schema
        .createIndex('notification_outbox_due')
        .on('notification_outbox')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('notification_outbox_created')
        .on('notification_outbox')
        .columns(['created_at', 'id'])
        .execute();
      await db.schema
        .createTable('followed_jobs')
        .addColumn('appliance', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addPrimaryKeyConstraint('followed_jobs_pkey', ['appliance', 'job_id'])
        .execute();
    },
  },
  '0007-audit-time-order': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Pages list entries newest first by (time, seq) (AuditPosition): each common filter, with or without a time
      // range, is one range of one of these, read in order. They replace the (appliance, seq), (actor, seq) and (time)
      // indexes, which could only walk every newer entry to find an older range (1.7 s a page at 10M entries).
      // Building them reads the table once each: about a minute per index at 10M entries on SQLite.
      await db.schema
        .createIndex('audit_entries_appliance_time')
        .on('audit_entries')
        .columns(['appliance', 'time', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_entries_actor_time')
        .on('audit_entries')
        .columns(['actor_subject', 'time', 'seq'])
        .execute();
      await db.schema.createIndex('audit_entries_time_seq').on('audit_entries').columns(['time', 'seq']).execute();
      await db.schema.dropIndex('audit_entries_appliance_seq').execute();
      await db.schema.dropIndex('audit_entries_actor_seq').execute();
      await db.schema.dropIndex('audit_entries_time').execute();
    },
  },
  '0008-final-outcome': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Filtering by outcome derived it per entry (FINAL_OUTCOME in every row's WHERE), walking all of a caller's entries
      // to fill a page with a rare outcome: 0.2–0.5 s at p99 at 10M entries. Stored, with the two filters it serves
      // most (a caller's or an appliance's entries by outcome), a page is one index range read again. Filling it reads
      // every entry once, and writes each (on PostgreSQL a new row version each): minutes at 10M entries.
      await db.schema.alterTable('audit_entries').addColumn('final_outcome', 'text').execute();
      await sql`UPDATE audit_entries AS e SET final_outcome = ${FINAL_OUTCOME}`.execute(db);
      await db.schema
        .createIndex('audit_entries_actor_outcome_time')
        .on('audit_entries')
        .columns(['actor_subject', 'final_outcome', 'time', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_entries_appliance_outcome_time')
        .on('audit_entries')
        .columns(['appliance', 'final_outcome', 'time', 'seq'])
        .execute();
    },
  },
};

// The fleet-run tables keep their migration steps in their own file (fleet-runs-schema.ts); the Migrator runs every
// step in name order.
const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS, ...FLEET_RUN_MIGRATIONS }) };

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrateAuditSchema(db: Kysely<AuditDatabase>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'audit_migration',
    migrationLockTableName: 'audit_migration_lock',
    ...(schema !== undefined && { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`audit schema migration ${failed ?? '(setup)'} failed: ${(error as Error).message ?? error}`, {
      cause: error,
    });
  }
}

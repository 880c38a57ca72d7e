/**
 * The fleet-run tables (audit/fleet-runs.ts), a migration step of their own beside the audit schema's (audit-schema.ts
 * applies them with its own, in name order). Append-only like every migration: add the next, never edit a shipped one.
 */
import { type Kysely, type Migration, sql } from 'kysely';

/** One row per fleet run; `owner` and `lease_until` say which process holds it, until when (the database's clock). */
export interface FleetRunsTable {
  id: string;
  mode: 'async' | 'sync';
  caller: string;
  /** JSON text: the audit actor of who started it. */
  actor: string;
  request_id: string;
  schedule: string;
  comment: string | null;
  state: 'running' | 'completed' | 'cancelled';
  /** ISO 8601 UTC text, as every time of the audit database. */
  created_at: string;
  ended_at: string | null;
  owner: string | null;
  lease_until: string | null;
}

/** One row per member; `position` keeps the order they were asked for (the queue's order). */
export interface FleetRunMembersTable {
  fleet_run_id: string;
  position: number;
  appliance: string;
  target: string;
  state: string;
  job_id: string | null;
  /** JSON text: the member's problem document. */
  error: string | null;
  started_at: string | null;
  ended_at: string | null;
}

export interface FleetRunTables {
  fleet_runs: FleetRunsTable;
  fleet_run_members: FleetRunMembersTable;
}

export const FLEET_RUN_MIGRATIONS: Record<string, Migration> = {
  '0006-fleet-runs': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('fleet_runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode IN ('async', 'sync')`))
        .addColumn('caller', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('running', 'completed', 'cancelled')`))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('owner', 'text')
        .addColumn('lease_until', 'text')
        .execute();
      // Claims look for the unfinished runs.
      await db.schema.createIndex('fleet_runs_ended_at').on('fleet_runs').column('ended_at').execute();
      await db.schema
        .createTable('fleet_run_members')
        .addColumn('fleet_run_id', 'text', (c) => c.notNull().references('fleet_runs.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('appliance', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text')
        .addColumn('error', 'text')
        .addColumn('started_at', 'text')
        .addColumn('ended_at', 'text')
        .addPrimaryKeyConstraint('fleet_run_members_pkey', ['fleet_run_id', 'appliance'])
        .execute();
      // A target's slots are counted by target and state, across every run.
      await db.schema
        .createIndex('fleet_run_members_target_state')
        .on('fleet_run_members')
        .columns(['target', 'state'])
        .execute();
    },
  },
};

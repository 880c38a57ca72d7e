/**
 * A SQLite audit database holding a long valid chain, written directly (one transaction, entries sealed by the
 * project's own sealEntry): appending tens of thousands of entries through the store would cost an fsync each.
 */
import Database from 'better-sqlite3';
import { GENESIS_HASH, sealEntry } from '../../src/audit/audit-chain.js';
import type { AuditEntry } from '../../src/audit/audit-entry.js';
import { SqliteAuditStore } from '../../src/audit/store/sqlite-audit-store.js';
import { completion, draft } from './drafts.js';

export async function fillSqliteChain(path: string, count: number): Promise<void> {
  const store = new SqliteAuditStore(path);
  await store.open(); // the schema, from the store's own migrations
  await store.close();
  const db = new Database(path);
  try {
    const insert = db.prepare(
      `INSERT INTO audit_entries (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
    );
    let previous = { seq: 0, hash: GENESIS_HASH };
    let last: AuditEntry | undefined;
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const requested = draft({ requestId: `bulk-${i >> 1}`, comment: 'a long chain' });
        last = sealEntry(i % 2 === 0 ? requested : completion(requested), previous);
        previous = last;
        insert.run(...row(last));
      }
      if (last) {
        db.prepare('UPDATE audit_chain_head SET last_seq = ?, last_id = ?, last_hash = ? WHERE id = 1').run(
          last.seq,
          last.id,
          last.hash,
        );
      }
    })();
  } finally {
    db.close();
  }
}

const COLUMNS = [
  'seq',
  'id',
  'time',
  'stage',
  'request_id',
  'action',
  'actor_subject',
  'actor_name',
  'actor_client_id',
  'actor_auth_method',
  'actor_ip',
  'actor_user_agent',
  'appliance',
  'schedule',
  'comment',
  'outcome',
  'http_status',
  'code',
  'job_id',
  'duration_ms',
  'fleet_request_id',
  'requested_id',
  'prev_hash',
  'hash',
];

function row(e: AuditEntry): unknown[] {
  const { actor } = e;
  return [
    e.seq,
    e.id,
    e.time,
    e.stage,
    e.requestId,
    e.action,
    actor.subject,
    actor.name,
    actor.clientId,
    actor.authMethod,
    actor.ip,
    actor.userAgent,
    e.appliance,
    e.schedule,
    e.comment,
    e.outcome,
    e.httpStatus,
    e.code,
    e.jobId,
    e.durationMs,
    e.fleetRequestId,
    e.requestedId,
    e.prevHash,
    e.hash,
  ];
}

// A SQLite audit database filled fast with a valid chain, for the scenarios that read long chains (the export, the
// event loop while verifying): appending through the store would cost one fsync per entry.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEDULE } from './targets.mjs';

/**
 * `count` entries in a new SQLite audit database, as the gateway writes them: the schema from the store's own
 * migrations, entries sealed by the project's sealEntry (so the chain verifies), the chain head updated.
 * Returns the milliseconds it took.
 */
export async function fillAuditDatabase(root, file, count) {
  const started = performance.now();
  const dist = (module) => pathToFileURL(path.join(root, 'dist', 'audit', module)).href;
  const { SqliteAuditStore } = await import(dist('store/sqlite-audit-store.js'));
  const { GENESIS_HASH, sealEntry } = await import(dist('audit-chain.js'));
  const { NOT_YET_KNOWN } = await import(dist('audit-entry.js'));
  const store = new SqliteAuditStore(file);
  await store.open(); // creates the schema
  await store.close();
  const Database = createRequire(path.join(root, 'package.json'))('better-sqlite3');
  const db = new Database(file);
  try {
    const actor = {
      subject: 'bench-client',
      name: null,
      clientId: 'bench-client',
      authMethod: 'jwt',
      ip: '127.0.0.1',
      userAgent: 'bench',
    };
    const start = Date.parse('2026-01-01T00:00:00Z');
    let previous = { seq: 0, hash: GENESIS_HASH };
    let last;
    let insert;
    const append = (draft) => {
      last = sealEntry(draft, previous);
      previous = last;
      const row = toRow(last);
      insert ??= db.prepare(
        `INSERT INTO audit_entries (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row)
          .map((column) => `@${column}`)
          .join(', ')})`,
      );
      insert.run(row);
    };
    db.transaction(() => {
      for (let run = 0; run < count / 2; run++) {
        const at = start + run * 1000;
        const common = {
          requestId: `bench-${run}`,
          action: 'backup.schedule.run',
          actor,
          appliance: `vc-${String((run % 10) + 1).padStart(2, '0')}`,
          schedule: SCHEDULE,
          comment: 'bench export',
          ...NOT_YET_KNOWN,
        };
        const requestedId = `00000000-0000-4000-8000-${String(2 * run).padStart(12, '0')}`;
        append({ ...common, id: requestedId, time: new Date(at).toISOString(), stage: 'requested' });
        append({
          ...common,
          id: `00000000-0000-4000-8000-${String(2 * run + 1).padStart(12, '0')}`,
          time: new Date(at + 42).toISOString(),
          stage: 'completed',
          outcome: 'accepted',
          httpStatus: 202,
          jobId: `20260101-000000-${String(run).padStart(8, '0')}`,
          durationMs: 42,
          requestedId,
        });
      }
      db.prepare('UPDATE audit_chain_head SET last_seq = ?, last_id = ?, last_hash = ? WHERE id = 1').run(
        last.seq,
        last.id,
        last.hash,
      );
    })();
  } finally {
    db.close();
  }
  return performance.now() - started;
}

/** An entry as a row of audit_entries: camelCase fields to snake_case columns, the actor's as actor_*. */
function toRow(entry) {
  const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const { actor, ...fields } = entry;
  return Object.fromEntries([
    ...Object.entries(fields).map(([key, value]) => [snake(key), value]),
    ...Object.entries(actor).map(([key, value]) => [`actor_${snake(key)}`, value]),
  ]);
}

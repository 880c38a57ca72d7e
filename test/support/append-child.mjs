// A second gateway process, as far as the audit store is concerned: opens its own store on the given database
// (the built one in dist/), says "ready", waits for "go" on stdin, appends `count` entries one after the other.
// argv: kind (sqlite|postgres) location (file path | URL) schema count tag
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

const [kind, location, schema, countText, tag] = process.argv.slice(2);
const { SqliteAuditStore } = await import('../../dist/audit/store/sqlite-audit-store.js');
const { PostgresAuditStore } = await import('../../dist/audit/store/postgres-audit-store.js');
const { NOT_YET_KNOWN } = await import('../../dist/audit/audit-entry.js');
const store = kind === 'sqlite' ? new SqliteAuditStore(location) : new PostgresAuditStore(location, { schema });
await store.open();
process.stdout.write('ready\n');
await once(process.stdin, 'data');
for (let i = 0; i < Number(countText); i++) {
  await store.append({
    id: randomUUID(),
    time: new Date().toISOString(),
    stage: 'requested',
    requestId: `${tag}-${i}`,
    action: 'backup.schedule.run',
    actor: { subject: tag, name: null, clientId: null, authMethod: 'apiKey', ip: '127.0.0.1', userAgent: null },
    appliance: 'vc-a',
    schedule: 'default',
    comment: null,
    ...NOT_YET_KNOWN,
  });
  // A gateway appends as requests arrive, not back to back; SQLite's lock is not fair to a waiting process otherwise.
  await new Promise((resolve) => setTimeout(resolve, 1));
}
await store.close();
process.stdout.write('done\n');

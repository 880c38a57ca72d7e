import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFleetRunRecords } from '../../../src/audit/store/memory-fleet-runs.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { describeFleetRunStore } from '../../support/fleet-run-store-suite.js';

describeFleetRunStore('fleet runs in memory (audit trail off)', async () => ({
  store: new MemoryFleetRunRecords(),
  dispose: async () => undefined,
}));

describeFleetRunStore('fleet runs in SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-runs-'));
  const store = new SqliteAuditStore(join(dir, 'audit.db'));
  await store.open();
  return {
    store: store.fleetRuns,
    outbox: async () => (await store.listNotifications({}, { limit: 100 })).map((message) => message.id),
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { draft } from '../../support/drafts.js';
import { tempDirPerTest } from '../../support/temp-dir.js';

/** The audit trail names callers, their addresses and appliances: readable by the gateway's user only, like the spool. */
describe('the SQLite audit file', () => {
  const dirOfTest = tempDirPerTest('audit-mode-');
  let umask: number;
  beforeEach(() => {
    // The usual umask, under which SQLite would create the database 0644.
    umask = process.umask(0o022);
  });
  afterEach(() => process.umask(umask));

  const modes = (dir: string) =>
    Object.fromEntries(readdirSync(dir).map((name) => [name, (statSync(join(dir, name)).mode & 0o777).toString(8)]));

  it('is created 0600, and so are its -wal and -shm files', async () => {
    const dir = dirOfTest();
    const store = new SqliteAuditStore(join(dir, 'trail', 'audit.db'));
    await store.open();
    try {
      await store.append(draft());
      expect(modes(join(dir, 'trail'))).toEqual({ 'audit.db': '600', 'audit.db-wal': '600', 'audit.db-shm': '600' });
    } finally {
      await store.close();
    }
  });

  it('keeps the permissions of a database that already exists', async () => {
    const dir = dirOfTest();
    const path = join(dir, 'audit.db');
    writeFileSync(path, '', { mode: 0o640 });
    const store = new SqliteAuditStore(path);
    await store.open();
    await store.close();
    expect(modes(dir)['audit.db']).toBe('640');
  });
});

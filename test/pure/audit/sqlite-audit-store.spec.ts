import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { draft } from '../../support/drafts.js';
import { sqliteFixture } from '../../support/store-fixtures.js';
import { describeAuditStore } from '../../support/store-suite.js';

describeAuditStore('SQLite audit store', sqliteFixture, { concurrent: false });

describe('SQLite audit store, read-only (the reader thread)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-readonly-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads what the writer committed and can write nothing', async () => {
    const path = join(dir, 'audit.db');
    const writer = new SqliteAuditStore(path);
    await writer.open();
    const entry = await writer.append(draft());
    const reader = new SqliteAuditStore(path, { readOnly: true });
    await reader.open();
    try {
      expect((await reader.query({}, { limit: 5 })).map((event) => event.id)).toEqual([entry.id]);
      await expect(reader.append(draft())).rejects.toMatchObject({ code: 'SQLITE_READONLY' });
      expect(await writer.verify()).toEqual({ ok: true, count: 1 });
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('creates nothing: no database, no directory', async () => {
    const path = join(dir, 'missing', 'audit.db');
    await expect(new SqliteAuditStore(path, { readOnly: true }).open()).rejects.toThrow();
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});

import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DraftRejectedError } from '../../../src/audit/store/audit-store.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { draft } from '../../support/drafts.js';
import { tempDirPerTest } from '../../support/temp-dir.js';

/** What the SQLite store does beyond the shared suite: its file, its options, its own refusals. */
describe('SQLite audit store: file and options', () => {
  const dir = tempDirPerTest('sqlite-store-');
  const stores: SqliteAuditStore[] = [];
  const store = (path: string, options?: ConstructorParameters<typeof SqliteAuditStore>[1]) => {
    const created = new SqliteAuditStore(path, options);
    stores.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it('creates its directory and a WAL database; a relative path is resolved once, at construction', async () => {
    const path = join(dir(), 'new', 'audit.db');
    const s = store(path);
    await s.open();
    expect(s.path).toBe(path);
    expect(store('data/x.db').path).toBe(resolve('data/x.db'));
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('an in-memory database stays in memory: no file, and opening twice keeps the same database', async () => {
    const s = store(':memory:');
    await s.open();
    await s.append(draft());
    await s.open();
    expect((await s.head()).lastSeq).toBe(1);
    expect(s.path).toBe(':memory:');
    expect(existsSync(resolve(':memory:'))).toBe(false);
  });

  it('migrate: false uses a database as it is: no file created for a missing one, its journal mode left alone', async () => {
    const missing = join(dir(), 'missing', 'audit.db');
    await expect(store(missing, { migrate: false }).open()).rejects.toThrow();
    expect(existsSync(join(dir(), 'missing'))).toBe(false);

    const path = join(dir(), 'audit.db');
    const writer = store(path);
    await writer.open();
    await writer.append(draft());
    await writer.close();
    const db = new Database(path);
    db.pragma('journal_mode = DELETE');
    db.close();
    const reader = store(path, { migrate: false });
    await reader.open();
    expect(await reader.verify()).toEqual({ ok: true, count: 1 });
    const after = new Database(path, { readonly: true });
    expect(after.pragma('journal_mode', { simple: true })).toBe('delete');
    after.close();

    // An empty database is not migrated either: it has no trail to read.
    const empty = join(dir(), 'empty.db');
    new Database(empty).close();
    const bare = store(empty, { migrate: false });
    await bare.open();
    // Matched by message: better-sqlite3's SqliteError may come from another realm than jest's Error under vm-modules.
    await expect(bare.head()).rejects.toMatchObject({ message: expect.stringMatching(/no such table/) });
  });

  it('a file that is not a database fails to open, and the store stays closed', async () => {
    const path = join(dir(), 'garbage.db');
    writeFileSync(path, 'this is not a database, just text long enough to have a header '.repeat(10));
    const s = store(path);
    await expect(s.open()).rejects.toMatchObject({ code: 'SQLITE_NOTADB' });
    await expect(s.head()).rejects.toThrow('the sqlite audit store is not open');
    await expect(s.query({}, { limit: 1 })).rejects.toThrow(/not open/);
  });

  it('a database the migrations cannot bring up to date fails to open, closed again, and the store stays closed', async () => {
    const path = join(dir(), 'audit.db');
    const foreign = new Database(path);
    foreign.exec('CREATE TABLE audit_entries (something_else TEXT)');
    foreign.close();
    const s = store(path);
    await expect(s.open()).rejects.toThrow(/audit schema migration 0001-audit-entries failed/);
    await expect(s.ping()).rejects.toThrow('the sqlite audit store is not open');
    // Its connection was closed: the last connection to a WAL database removes the -wal file as it closes.
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('answers a ping while open, and refuses one once closed', async () => {
    const s = store(join(dir(), 'audit.db'));
    await s.open();
    await expect(s.ping()).resolves.toBeUndefined();
    await s.close();
    await expect(s.ping()).rejects.toThrow('the sqlite audit store is not open');
  });

  it('a write waits busyTimeoutMs for another process’s lock, then fails (and does not hang the gateway)', async () => {
    const path = join(dir(), 'audit.db');
    const s = store(path, { busyTimeoutMs: 100 });
    await s.open();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      await expect(s.append(draft())).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    // The failed transaction was rolled back: the next append goes through.
    expect((await s.append(draft())).seq).toBe(1);
  });

  it('by default a write waits two seconds for the lock', async () => {
    const path = join(dir(), 'audit.db');
    const s = store(path);
    await s.open();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    try {
      await expect(s.append(draft())).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(1900);
    expect(waited).toBeLessThan(4000);
  });

  it('appends accepted before close are committed by it', async () => {
    const path = join(dir(), 'audit.db');
    const s = store(path);
    await s.open();
    const pending = [s.append(draft()), s.append(draft()), s.append(draft())];
    await s.close();
    await Promise.all(pending);
    const reopened = store(path);
    await reopened.open();
    expect(await reopened.verify()).toEqual({ ok: true, count: 3 });
    await store(join(dir(), 'never-opened.db')).close();
  });

  it('a NOT NULL violation is refused for good: that draft fails alone, the rest of its batch is written', async () => {
    const s = store(join(dir(), 'audit.db'));
    await s.open();
    const refused = draft({ actor: { ...draft().actor, ip: null as unknown as string } });
    const results = await Promise.allSettled([draft(), refused, draft()].map((d) => s.append(d)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(expect.any(DraftRejectedError));
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      draftId: refused.id,
      code: 'SQLITE_CONSTRAINT_NOTNULL',
    });
    expect(await s.verify()).toEqual({ ok: true, count: 2 });
  });

  it('which SQLite errors are for good (the same row fails every time) and which may pass on a retry', () => {
    class Classifier extends SqliteAuditStore {
      permanent(error: unknown): boolean {
        return this.rejectsForGood(error);
      }
    }
    const classifier = new Classifier(':memory:');
    const permanent = [
      'SQLITE_CONSTRAINT_CHECK',
      'SQLITE_CONSTRAINT_NOTNULL',
      'SQLITE_CONSTRAINT_TRIGGER',
      'SQLITE_TOOBIG',
      'SQLITE_MISMATCH',
    ];
    for (const code of permanent)
      expect({ code, permanent: classifier.permanent({ code }) }).toEqual({ code, permanent: true });
    for (const code of ['SQLITE_BUSY', 'SQLITE_IOERR', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_FULL', undefined]) {
      expect({ code, permanent: classifier.permanent({ code }) }).toEqual({ code, permanent: false });
    }
    expect(classifier.permanent(undefined)).toBe(false);
    expect(classifier.permanent(new Error('no code'))).toBe(false);
  });
});

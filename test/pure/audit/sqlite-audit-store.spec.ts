import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { AuditEntry, AuditEvent, VerifyResult } from '../../../src/audit/audit-entry.js';
import type { AuditDatabase } from '../../../src/audit/store/audit-schema.js';
import { SqliteAuditStore } from '../../../src/audit/store/sqlite-audit-store.js';
import { daysAgo, draft } from '../../support/drafts.js';
import { sqliteFixture } from '../../support/store-fixtures.js';
import { describeAuditStore } from '../../support/store-suite.js';

describeAuditStore('SQLite audit store', sqliteFixture, { concurrent: false, walksHere: true });

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

describe('SQLite audit store, a purge under appends (same thread, so the order of its turns is exact)', () => {
  let dir: string;
  let store: SqliteAuditStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-purge-'));
    store = new SqliteAuditStore(join(dir, 'audit.db'));
    await store.open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an append asked for during a purge batch is committed before the next batch starts', async () => {
    for (let i = 0; i < 40; i++) await store.append(draft({ time: daysAgo(10) }));
    store.purgeBatch = 2;
    // The purge's first batch runs at once; the append is asked for on the next turn, as a request is.
    const purge = store.purgeBefore(daysAgo(7));
    const anchorWhenCommitted = await new Promise<number>((resolve, reject) =>
      setImmediate(() =>
        store
          .append(draft())
          .then(() => store.head())
          .then((head) => resolve(head.anchorSeq), reject),
      ),
    );
    expect(await purge).toMatchObject({ deleted: 40, anchorSeq: 40 });
    // One batch of two gone: the run waited for that batch, not for a second one started meanwhile.
    expect(anchorWhenCommitted).toBe(2);
    expect(await store.verify()).toEqual({ ok: true, count: 1 });
  });

  it('after a slow batch the next one is smaller: batches are sized by the time they held the lock', async () => {
    for (let i = 0; i < 150; i++) await store.append(draft({ time: daysAgo(10) }));
    // Each deleted row now costs a few milliseconds (4 MB of random bytes made by a trigger, on the store's own
    // connection): the first batch of 100 rows holds the lock for hundreds of them.
    const other = new Database(join(dir, 'audit.db'));
    other.exec('CREATE TRIGGER slow_purge AFTER DELETE ON audit_entries BEGIN SELECT length(randomblob(4000000)); END');
    other.close();
    const purge = store.purgeBefore(daysAgo(7));
    // Two runs one after the other, each asked for on the turn after the last was committed: the first lands after
    // the first batch (100 rows), the second after the second batch, whose size the first one's time decided.
    const anchorAfterAppend = () =>
      new Promise<number>((resolve, reject) =>
        setImmediate(() =>
          store
            .append(draft())
            .then(() => store.head())
            .then((head) => resolve(head.anchorSeq), reject),
        ),
      );
    const first = await anchorAfterAppend();
    const second = await anchorAfterAppend();
    expect(await purge).toMatchObject({ deleted: 150, anchorSeq: 150 });
    expect(first).toBe(100);
    // At a few ms a row, ~10 ms of lock is a few rows, not the 50 left (nor the twofold growth a quick batch earns).
    expect(second - first).toBeGreaterThan(0);
    expect(second - first).toBeLessThan(10);
  });

  it('a steady stream of appends, one every turn, does not hold the purge back until it stops', async () => {
    for (let i = 0; i < 20; i++) await store.append(draft({ time: daysAgo(10) }));
    store.purgeBatch = 2; // 10 batches
    let purged = false;
    const purge = store.purgeBefore(daysAgo(7)).then((result) => {
      purged = true;
      return result;
    });
    // An append asked for on every turn of the event loop, up to 300, as a busy gateway's runs would.
    let appended = 0;
    let appendedWhenPurged = -1;
    const appends: Promise<unknown>[] = [];
    await new Promise<void>((resolve) => {
      const next = () => {
        if (purged && appendedWhenPurged < 0) appendedWhenPurged = appended;
        if (appended === 300) return resolve();
        appends.push(store.append(draft()));
        appended++;
        setImmediate(next);
      };
      setImmediate(next);
    });
    await Promise.all(appends);
    expect(await purge).toMatchObject({ deleted: 20, anchorSeq: 20 });
    // Ten batches between appends: a few dozen turns, not the end of the stream.
    expect(appendedWhenPurged).toBeGreaterThan(0);
    expect(appendedWhenPurged).toBeLessThan(150);
  });
});

describe('SQLite audit store, reads beside a write transaction on its one connection', () => {
  /** Holds a write transaction open, as an append does between its statements, on the store's own connection. */
  class HeldOpen extends SqliteAuditStore {
    private kysely: Kysely<AuditDatabase> | undefined;
    protected override async connect(): Promise<Kysely<AuditDatabase>> {
      this.kysely = await super.connect();
      return this.kysely;
    }
    hold(work: (trx: Kysely<AuditDatabase>) => Promise<void>): Promise<void> {
      return this.inWriteTransaction(this.kysely as Kysely<AuditDatabase>, work);
    }
  }
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for the transaction to end instead of reading its uncommitted rows (entries and verify read as arrays)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-held-'));
    const store = new HeldOpen(join(dir, 'audit.db'));
    await store.open();
    try {
      const kept = await store.append(draft());
      let reads: Promise<unknown[]> | undefined;
      const held = store.hold(async (trx) => {
        await trx.updateTable('audit_entries').set({ comment: 'never committed' }).where('id', '=', kept.id).execute();
        // Asked for while the update is on the connection and not committed; answered after the rollback.
        reads = Promise.all([store.query({}, { limit: 5 }), store.entriesBetween(0, 1, 5), store.verify()]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('rolled back');
      });
      await expect(held).rejects.toThrow('rolled back');
      const [events, entries, verified] = (await reads) as [AuditEvent[], AuditEntry[], VerifyResult];
      expect(events.map((event) => event.comment)).toEqual([kept.comment]);
      expect(entries.map((entry) => entry.comment)).toEqual([kept.comment]);
      expect(verified).toEqual({ ok: true, count: 1 });
    } finally {
      await store.close();
    }
  });
});

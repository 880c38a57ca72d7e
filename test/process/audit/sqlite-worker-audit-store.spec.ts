import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WorkerAuditStore } from '../../../src/audit/store/worker-audit-store.js';
import { draft } from '../../support/drafts.js';
import { sqliteWorkerFixture } from '../../support/store-fixtures.js';
import { describeAuditStore } from '../../support/store-suite.js';

describeAuditStore('SQLite audit store on its worker thread', sqliteWorkerFixture, {
  concurrent: true,
  walksHere: false,
});

describe('SQLite audit store on its worker threads: reads apart from writes', () => {
  let dir: string;
  let store: WorkerAuditStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-reader-'));
    store = new WorkerAuditStore({ path: join(dir, 'audit.db') });
    await store.open();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a long read (an auditor's export) does not hold back a run's audit entry", async () => {
    for (let i = 0; i < 20; i++) {
      await Promise.all(Array.from({ length: 1000 }, () => store.append(draft({ comment: 'x'.repeat(200) }))));
    }
    const order: string[] = [];
    // One statement and its serialisation, 20,000 rows: a single synchronous stretch of the thread that runs it.
    const exported = store.queryNdjson({}, { limit: 20_000 }).then((page) => {
      order.push('export');
      return page;
    });
    const appended = store.append(draft({ comment: 'a run during the export' })).then((entry) => {
      order.push('append');
      return entry;
    });
    const [page, entry] = await Promise.all([exported, appended]);
    expect(order).toEqual(['append', 'export']);
    expect(page.count).toBe(20_000);
    expect(entry.seq).toBe(20_001);
  }, 60_000);

  it('reads see every entry committed before them, also while another connection holds the write lock', async () => {
    const first = await store.append(draft());
    expect((await store.query({}, { limit: 10 })).map((event) => event.id)).toEqual([first.id]);
    const second = await store.append(draft());
    expect((await store.query({}, { limit: 10 })).map((event) => event.id)).toEqual([second.id, first.id]);
    expect(await store.verify()).toEqual({ ok: true, count: 2 });
    // The writer's connection is the only one: a second writer would wait for its lock, a reader does not.
    const outside = new Database(join(dir, 'audit.db'));
    try {
      outside.exec('BEGIN IMMEDIATE');
      expect((await store.query({}, { limit: 1 }))[0].id).toBe(second.id);
      outside.exec('ROLLBACK');
    } finally {
      outside.close();
    }
  });

  it('verifies on two reading threads, each with its own connection to the file, half the chain each', async () => {
    const file = join(dir, 'audit.db');
    /** This process's open descriptors of the database file itself: one per connection. */
    const connections = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false; // closed meanwhile (readdirSync's own descriptor)
        }
      }).length;
    for (let i = 0; i < 10; i++) await store.append(draft());
    expect(connections()).toBe(1); // the writer's; both readers start with their first call
    expect(await store.verify()).toEqual({ ok: true, count: 10 });
    expect(connections()).toBe(3);
  });
});
